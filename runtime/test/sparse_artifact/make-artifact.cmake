# Writes the runtime's issue 8 test artifact: fake_kernel.c's library as
# kernels.so and manifest.json.in with its size, hash and this machine's
# architecture (docs/artifact.md). No compiler needed: attn-run and the
# Python binding run select_blocks, compress_kv and selected attention on it.
#   cmake -DLIBRARY=fake_attn_kernel.so -DOUT=dir -P make-artifact.cmake
file(MAKE_DIRECTORY "${OUT}")
configure_file("${LIBRARY}" "${OUT}/kernels.so" COPYONLY)
file(SIZE "${OUT}/kernels.so" SIZE)
file(SHA256 "${OUT}/kernels.so" SHA256)
cmake_host_system_information(RESULT ARCH QUERY OS_PLATFORM)
if(ARCH STREQUAL "arm64")
  set(ARCH aarch64)
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/manifest.json.in"
               "${OUT}/manifest.json" @ONLY)
