/*
 * LD_PRELOAD shim: a bind() to the wildcard address binds to loopback instead.
 *
 * DynamoDB Local (Java) listens on 0.0.0.0 and has no option to change that; the sandbox
 * promises to serve on loopback only. Built by setup (gcc), preloaded into the sandbox's
 * processes by the runner. Everything else passes through untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    static bind_fn real_bind;
    if (!real_bind) {
        real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
    }
    if (addr && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)addr;
        if (in4->sin_addr.s_addr == htonl(INADDR_ANY)) {
            struct sockaddr_in copy;
            memcpy(&copy, in4, sizeof copy);
            copy.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof copy);
        }
    }
    if (addr && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
        if (memcmp(&in6->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0) {
            struct sockaddr_in6 copy;
            memcpy(&copy, in6, sizeof copy);
            copy.sin6_addr = in6addr_loopback;
            return real_bind(fd, (const struct sockaddr *)&copy, sizeof copy);
        }
    }
    return real_bind(fd, addr, len);
}
