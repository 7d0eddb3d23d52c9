// Conversions between rtcpp's SocketAddr and the BSD socket address structures, for the runtime's sockets.
#pragma once

#include <rtcpp/socket_addr.hpp>

#include <sys/socket.h>

namespace rtcpp::runtime {

socklen_t to_sockaddr(const SocketAddr& a, sockaddr_storage& ss);
SocketAddr from_sockaddr(const sockaddr_storage& ss);

} // namespace rtcpp::runtime
