// tests/main.cpp: the Catch2 v2 runner for goro_tests (compiled once; every *_test.cpp only includes catch.hpp).
// Run one group with a tag: build/tests/goro_tests '[sync]'; see tests/meson.build for the groups.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
