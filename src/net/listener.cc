#include "sesame/net/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sesame::net {

int bindListener(const Address& addr, int backlog, std::string* error) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = "cannot create a socket for " + addr.toString() + ": " + std::strerror(errno);
    return -1;
  }
  int one = 1;
  // SO_REUSEADDR: restart without waiting out TIME_WAIT; SO_REUSEPORT: one
  // socket per worker, balanced by the kernel.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, addr.sa(), addr.length) != 0) {
    *error = "cannot listen on " + addr.toString() + ": " + std::strerror(errno);
    if (errno == EADDRINUSE) *error += " (another process, or another [[listen]], uses it)";
    if (errno == EACCES) *error += " (ports below 1024 need CAP_NET_BIND_SERVICE)";
    ::close(fd);
    return -1;
  }
  if (::listen(fd, backlog) != 0) {
    *error = "cannot listen on " + addr.toString() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace sesame::net
