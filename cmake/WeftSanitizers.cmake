# Sanitizer and fuzzer instrumentation of chosen Weft targets. MLIR, LLVM,
# libonnx and protobuf stay Debian's uninstrumented shared libraries, so only
# Weft's own code is checked. Both options need clang (the runtimes come from
# libclang-rt-22-dev): configure with CC=clang-22 CXX=clang++-22.
#
#   WEFT_SANITIZE=address   ASan + UBSan on libweft_runtime, weft-run and the
#                           runtime GoogleTests
#   WEFT_SANITIZE=thread    TSan on the same targets
#   WEFT_ENABLE_FUZZER=ON   test/fuzz/weft-import-fuzzer (libFuzzer + ASan +
#                           UBSan) over instrumented compiler libraries

function(weft_check_sanitizer_options)
  if(NOT WEFT_SANITIZE MATCHES "^(|address|thread)$")
    message(FATAL_ERROR "WEFT_SANITIZE must be empty, 'address' or 'thread', "
                        "not '${WEFT_SANITIZE}'")
  endif()
  if(NOT WEFT_SANITIZE AND NOT WEFT_ENABLE_FUZZER)
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR
     NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WEFT_SANITIZE and WEFT_ENABLE_FUZZER need clang: "
                        "configure a fresh build directory with "
                        "CC=clang-22 CXX=clang++-22")
  endif()
  if(WEFT_ENABLE_FUZZER AND WEFT_SANITIZE STREQUAL "thread")
    message(FATAL_ERROR "the fuzzer runs under ASan; use a separate build "
                        "directory for WEFT_SANITIZE=thread")
  endif()
endfunction()

# The compile flags of one WEFT_SANITIZE value. Recoverable UBSan checks stay
# recoverable so UBSAN_OPTIONS decides (halt_on_error=1 in .ci/sanitize.sh).
function(weft_sanitizer_flags kind out)
  if(kind STREQUAL "address")
    set(${out} -fsanitize=address,undefined PARENT_SCOPE)
  elseif(kind STREQUAL "thread")
    set(${out} -fsanitize=thread PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# weft_instrument(TARGETS t... COMPILE flags... LINK flags...)
#
# Compiles each target (and the obj.<name> object library add_mlir_library
# builds it from) with COMPILE plus frame pointers and line tables for
# readable reports. LINK is what an executable needs to pull in the
# sanitizer runtimes: executables get it directly, and libraries pass it on
# to whatever links them. Shared libraries leave the sanitizer symbols to
# that executable (clang links the runtimes into executables only), which
# the -z defs that HandleLLVMOptions adds would refuse.
function(weft_instrument)
  cmake_parse_arguments(ARG "" "" "TARGETS;COMPILE;LINK" ${ARGN})
  foreach(tgt ${ARG_TARGETS})
    if(NOT TARGET ${tgt})
      message(FATAL_ERROR "weft_instrument: no target '${tgt}'")
    endif()
    foreach(t ${tgt} obj.${tgt})
      if(TARGET ${t})
        target_compile_options(${t} PRIVATE ${ARG_COMPILE}
          -fno-omit-frame-pointer -gline-tables-only)
      endif()
    endforeach()
    get_target_property(type ${tgt} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_link_options(${tgt} PRIVATE ${ARG_LINK})
    elseif(type STREQUAL "SHARED_LIBRARY")
      target_link_options(${tgt} PRIVATE -Wl,-z,undefs)
      target_link_options(${tgt} INTERFACE ${ARG_LINK})
    else()
      target_link_options(${tgt} INTERFACE ${ARG_LINK})
    endif()
  endforeach()
endfunction()

# Applies WEFT_SANITIZE to the runtime side: libweft_runtime, weft-run and
# the runtime GoogleTests. weftc stays uninstrumented; the model libraries it
# links are plain code that calls into the instrumented runtime.
function(weft_apply_sanitize)
  if(NOT WEFT_SANITIZE)
    return()
  endif()
  weft_sanitizer_flags(${WEFT_SANITIZE} flags)
  set(targets weft_runtime weft-run)
  if(TARGET weft-runtime-tests)
    list(APPEND targets weft-runtime-tests)
  endif()
  weft_instrument(TARGETS ${targets} COMPILE ${flags} LINK ${flags})
  message(STATUS "Weft: WEFT_SANITIZE=${WEFT_SANITIZE} (${flags}) on ${targets}")
endfunction()
