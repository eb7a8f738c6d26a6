# Fails when the runtime's binaries depend on LLVM or MLIR, whether through a
# shared library (ldd of attn-cpu-bench) or through code linked in statically
# or referenced (any llvm:: or mlir:: symbol, defined or not, in nm's
# demangled listing of attn-cpu-bench and of the static library).
# Usage: cmake -DNM=nm -DLDD=ldd -DBENCH=... -DLIBRARY=... -P check_no_llvm.cmake
foreach(file IN ITEMS "${BENCH}" "${LIBRARY}")
  execute_process(COMMAND "${NM}" -C "${file}" OUTPUT_VARIABLE symbols
                  RESULT_VARIABLE rc ERROR_QUIET)
  # An empty or failed listing would pass vacuously; the runtime's own
  # namespace proves nm read the file.
  if(NOT rc EQUAL 0 OR NOT symbols MATCHES "attn::rt::")
    message(FATAL_ERROR "nm could not list the symbols of ${file}")
  endif()
  string(REGEX MATCHALL "[^\n]*(llvm|mlir)::[^\n]*" found "${symbols}")
  if(found)
    list(GET found 0 first)
    message(FATAL_ERROR "${file} holds LLVM/MLIR symbols, e.g.: ${first}")
  endif()
endforeach()

if(LDD)
  execute_process(COMMAND "${LDD}" "${BENCH}" OUTPUT_VARIABLE libs
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ldd failed on ${BENCH}")
  endif()
  string(REGEX MATCH "[^\n]*lib(LLVM|MLIR|mlir)[^\n]*" found "${libs}")
  if(found)
    message(FATAL_ERROR "${BENCH} loads LLVM/MLIR: ${found}")
  endif()
endif()
message(STATUS "no LLVM/MLIR in ${BENCH} or ${LIBRARY}")
