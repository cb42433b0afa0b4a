# Lit configuration for Weft: IR tests (weft-opt + FileCheck), importer and
# driver tests (weftc), and end-to-end suites that run compiled models.
import os
import lit.formats

config.name = "Weft"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.weft_obj_root, "test")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py.in", "runtime", "conformance",
                   "models", "CMakeLists.txt", "README.md"]

config.environment["PATH"] = os.pathsep.join(
    [config.weft_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%weft_src", config.weft_src_root))
config.substitutions.append(("%weft_lib", config.weft_lib_dir))
