# Small wrappers over the upstream MLIR CMake helpers so every Weft library is
# declared the same way: one library per folder, linked against libMLIR.so.

# Splits a link list into upstream MLIR libraries (folded into libMLIR.so by
# mlir_target_link_libraries) and everything else (linked as given).
function(weft_link target type)
  set(mlir_libs)
  set(other_libs)
  foreach(lib ${ARGN})
    if(lib MATCHES "^MLIR")
      list(APPEND mlir_libs ${lib})
    else()
      list(APPEND other_libs ${lib})
    endif()
  endforeach()
  if(mlir_libs)
    mlir_target_link_libraries(${target} ${type} ${mlir_libs})
  endif()
  if(other_libs)
    target_link_libraries(${target} ${type} ${other_libs})
  endif()
endfunction()

# weft_add_library(name SRCS... [DEPENDS tgt...] [LINK libs...])
function(weft_add_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPENDS;LINK" ${ARGN})
  add_mlir_library(${name} ${ARG_SRCS}
    DEPENDS ${ARG_DEPENDS}
    DISABLE_INSTALL
    EXCLUDE_FROM_LIBMLIR)
  if(ARG_LINK)
    weft_link(${name} PUBLIC ${ARG_LINK})
  endif()
endfunction()

# weft_add_tool(name SRCS... [LINK libs...])
function(weft_add_tool name)
  cmake_parse_arguments(ARG "" "" "SRCS;LINK" ${ARGN})
  add_llvm_executable(${name} ${ARG_SRCS})
  llvm_update_compile_flags(${name})
  if(ARG_LINK)
    weft_link(${name} PRIVATE ${ARG_LINK})
  endif()
endfunction()
