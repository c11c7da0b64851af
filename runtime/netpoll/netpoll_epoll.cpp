// netpoll/netpoll_epoll.cpp — placeholder until the epoll backend lands.
#include "netpoll/netpoll.hpp"

#include "debug/assert.hpp"

namespace goro::rt {

Netpoller* make_netpoller() { fatal("the netpoller is not built yet"); }

}  // namespace goro::rt
