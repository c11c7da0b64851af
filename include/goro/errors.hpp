/// @file goro/errors.hpp
/// @brief the exceptions of the public API.
///
/// @code
/// try {
///     goro::run([] {
///         goro::Chan<int> ch(1);
///         ch.close();
///         ch.send(1);                       // throws goro::ChannelClosed
///     });
/// } catch (const goro::ChannelClosed& e) {  // or any goro::Error
///     std::fprintf(stderr, "%s\n", e.what());
/// }
/// @endcode
///
/// Every goro error derives from goro::Error, itself a std::runtime_error, so a
/// single `catch (const goro::Error&)` sees them all. Operating-system failures
/// are std::system_error carrying the errno; misuse of an API is
/// std::logic_error (a WaitGroup driven below zero) or goro::InvalidState.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
// Stop at once with a message, instead of failing deep inside a header
// (the missing #include is fatal, so the compiler goes no further).
#error "goro needs C++20 (-std=c++20)"
#include "goro needs C++20 (-std=c++20)"
#endif

#include <stdexcept>
#include <string>
#include <system_error>

namespace goro {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Cancelled is thrown from the blocking call a goroutine is parked in (or its
/// next one) after Task::cancel(), gather's cancellation, wait_for's timeout or
/// the end of run().
class Cancelled : public Error {
public:
    Cancelled() : Error("goro: cancelled") {}
    using Error::Error;
};

/// Timeout is thrown by wait_for, and by network calls past their deadline.
class Timeout : public Error {
public:
    Timeout() : Error("goro: timed out") {}
    using Error::Error;
};

/// ChannelClosed: send on a closed channel, or close() of a closed channel.
class ChannelClosed : public Error {
public:
    ChannelClosed() : Error("goro: channel closed") {}
    using Error::Error;
};

/// InvalidState: a call that the object's state does not allow (exception()
/// of a pending task, run() from inside a goroutine, go() with no runtime).
class InvalidState : public Error {
public:
    using Error::Error;
};

/// Deadlock: thrown by run() when every goroutine is parked and nothing can
/// wake any of them (Go's "all goroutines are asleep - deadlock!"): no timer,
/// no I/O wait, no run_blocking job, and no thread outside the runtime that
/// could call in (every other thread of the process, unless it is parked in a
/// goro wait without a deadline, might; none is then reported).
class Deadlock : public Error {
public:
    Deadlock() : Error("goro: all goroutines are asleep - deadlock!") {}
    using Error::Error;
};

}  // namespace goro
