# Fails when a committed reference page differs from the one generated from
# ODS. PAIRS is a list of GENERATED=COMMITTED paths.
foreach(pair ${PAIRS})
  string(REPLACE "=" ";" paths "${pair}")
  list(GET paths 0 generated)
  list(GET paths 1 committed)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${generated} ${committed}
                  RESULT_VARIABLE differs)
  if(differs)
    message(FATAL_ERROR "${committed} is not what the .td files generate "
                        "(${generated}); run scripts/update-docs.sh")
  endif()
endforeach()
message(STATUS "generated reference docs are up to date")
