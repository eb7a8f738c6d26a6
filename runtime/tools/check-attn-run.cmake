# Runs attn-run and checks both its exit status and its output, which ctest
# cannot do at once (PASS_REGULAR_EXPRESSION ignores the status):
#   cmake -DATTN_RUN=... "-DARGS=dir --function f" -DEXPECT_EXIT=1 \
#         -DEXPECT_OUTPUT=regex -P check-attn-run.cmake
# ARGS is one string, split like a shell would (no lists through -D). A crash
# has no numeric status, so it fails every expectation.
separate_arguments(args UNIX_COMMAND "${ARGS}")
execute_process(COMMAND ${ATTN_RUN} ${args}
                RESULT_VARIABLE status
                OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(NOT "${status}" STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "attn-run exited with '${status}', expected ${EXPECT_EXIT}")
endif()
if(DEFINED EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "attn-run's output does not match '${EXPECT_OUTPUT}'")
endif()
