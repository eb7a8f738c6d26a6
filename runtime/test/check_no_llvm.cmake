# Fails when the runtime's binaries depend on LLVM or MLIR, whether through a
# shared library (ldd of attn-cpu-bench and libattn_runtime.so) or through
# code linked in statically or referenced (any llvm:: or mlir:: symbol,
# defined or not, in nm's demangled listing of each file). Also fails when
# libattn_runtime.so exports anything but the C API (attn_*).
# Usage: cmake -DNM=nm -DLDD=ldd -DBENCH=... -DLIBRARY=... [-DRUNTIME=...]
#              [-DSHARED=...] -P check_no_llvm.cmake
set(files "${BENCH}" "${LIBRARY}")
if(RUNTIME)
  list(APPEND files "${RUNTIME}")
endif()
if(SHARED)
  list(APPEND files "${SHARED}")
endif()

foreach(file IN LISTS files)
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
  foreach(file IN ITEMS "${BENCH}" "${SHARED}")
    if(NOT file)
      continue()
    endif()
    execute_process(COMMAND "${LDD}" "${file}" OUTPUT_VARIABLE libs
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "ldd failed on ${file}")
    endif()
    string(REGEX MATCH "[^\n]*lib(LLVM|MLIR|mlir)[^\n]*" found "${libs}")
    if(found)
      message(FATAL_ERROR "${file} loads LLVM/MLIR: ${found}")
    endif()
  endforeach()
endif()

if(SHARED)
  execute_process(COMMAND "${NM}" -D --defined-only "${SHARED}"
                  OUTPUT_VARIABLE exported RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0 OR NOT exported MATCHES " attn_call\n")
    message(FATAL_ERROR "nm -D could not list the exports of ${SHARED}")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${exported}")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>"; the version node itself has type A.
    if(NOT line MATCHES " [A-Za-z] attn_[A-Za-z0-9_]+$" AND
       NOT line MATCHES " A [A-Za-z0-9_.]+$")
      message(FATAL_ERROR "${SHARED} exports more than the C API: ${line}")
    endif()
  endforeach()
endif()
message(STATUS "no LLVM/MLIR in: ${files}")
