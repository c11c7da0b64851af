// runtime/env/version.cpp: goro::version(), the version of the library that was linked (GORO_VERSION_STRING
// in <goro/version.hpp> is the version of the headers a program was compiled against; meson.build writes both
// from project(version)).
#include <goro/version.hpp>

namespace goro {

const char* version() noexcept { return GORO_VERSION_STRING; }

}  // namespace goro
