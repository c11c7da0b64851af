// goro/goro.hpp — everything: goroutines, channels and select, sync, time,
// the asyncio-style tasks, and the network. See README.md for a tour.
#pragma once

#include <goro/chan.hpp>
#include <goro/errors.hpp>
#include <goro/net.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/sync.hpp>
#include <goro/task.hpp>
#include <goro/time.hpp>
#include <goro/version.hpp>
