# ctest wrapper: runs tide-conformance on one vector file and fails when any case fails.
execute_process(COMMAND ${BIN} ${VECTORS} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
string(REGEX MATCH "[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped" tally "${out}")
message(STATUS "${VECTORS}: ${tally}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "conformance failures:\n${out}")
endif()
