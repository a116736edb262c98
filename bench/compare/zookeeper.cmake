# zk_load, the benchmark's ZooKeeper load generator, built only when the
# ZooKeeper C client's multithreaded library is installed (Debian:
# libzookeeper-mt-dev; it ships no pkg-config or CMake config file).
# Sets SYNOD_HAVE_ZOOKEEPER (a cache variable, visible in every directory)
# to tell whether zk_load is built.

find_path(SYNOD_ZOOKEEPER_INCLUDE_DIR zookeeper/zookeeper.h
  DOC "Directory holding zookeeper/zookeeper.h (libzookeeper-mt-dev)")
find_library(SYNOD_ZOOKEEPER_MT_LIBRARY zookeeper_mt
  DOC "The ZooKeeper C client's multithreaded library")

if(SYNOD_ZOOKEEPER_INCLUDE_DIR AND SYNOD_ZOOKEEPER_MT_LIBRARY)
  add_executable(zk_load zk_load_main.cc zk_backend.cc)
  # SYSTEM: the client's headers are not warning-clean under our flags.
  target_include_directories(zk_load SYSTEM PRIVATE
    ${SYNOD_ZOOKEEPER_INCLUDE_DIR})
  target_link_libraries(zk_load PRIVATE synod_bench_load
    ${SYNOD_ZOOKEEPER_MT_LIBRARY} absl::status absl::statusor absl::strings
    absl::str_format Threads::Threads)
  target_compile_options(zk_load PRIVATE ${SYNOD_WARNINGS})
  set(SYNOD_HAVE_ZOOKEEPER ON CACHE INTERNAL
    "Whether zk_load (the ZooKeeper load generator) is built")
else()
  set(SYNOD_HAVE_ZOOKEEPER OFF CACHE INTERNAL
    "Whether zk_load (the ZooKeeper load generator) is built")
  message(STATUS "libzookeeper-mt-dev not found: zk_load not built")
endif()
