/* bench/functions/runtime.c: the smallest useful Lambda custom runtime, for
 * bench/functions-bench. It answers every invocation with a fixed JSON document
 * (RESPONSE_BODY from the environment, else {"statusCode":200,"body":"ok"}), so what a
 * benchmark measures is the gateway's cost, not the handler's.
 *
 * The loop, on one keep-alive connection to $AWS_LAMBDA_RUNTIME_API:
 *   GET  /2018-06-01/runtime/invocation/next            (blocks until there is work)
 *   read Lambda-Runtime-Aws-Request-Id, skip the event (Content-Length bytes)
 *   POST /2018-06-01/runtime/invocation/{id}/response   with the fixed body
 *   read the 202
 * If the connection closes, it reconnects; a protocol error ends the process (the
 * gateway then reports the instance's exit).
 *
 * Build: cc -O2 -o bootstrap runtime.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (1 << 16)

static char buf[BUF_SIZE];
static size_t have; /* bytes in buf */

static void fatal(const char *what) {
  fprintf(stderr, "runtime.c: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
  exit(1);
}

static int connect_api(const char *api) {
  char host[256];
  const char *colon = strrchr(api, ':');
  if (colon == NULL || (size_t)(colon - api) >= sizeof host) {
    errno = 0;
    fatal("AWS_LAMBDA_RUNTIME_API is not HOST:PORT");
  }
  memcpy(host, api, (size_t)(colon - api));
  host[colon - api] = '\0';
  int fd;
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
    /* The usual case (an address): no resolver, which would load NSS modules. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fatal("socket");
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) fatal("connect");
  } else {
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
      errno = 0;
      fatal("cannot resolve AWS_LAMBDA_RUNTIME_API");
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) fatal("socket");
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) fatal("connect");
    freeaddrinfo(res);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  have = 0;
  return fd;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Finds the value of header NAME (case-insensitive) in the head [head, end). */
static int header(const char *head, const char *end, const char *name, char *out, size_t cap) {
  size_t len = strlen(name);
  for (const char *line = head; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > len && line[len] == ':' && strncasecmp(line, name, len) == 0) {
      const char *v = line + len + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      size_t n = (size_t)(ve - v);
      if (n >= cap) return -1;
      memcpy(out, v, n);
      out[n] = '\0';
      return 0;
    }
    line = eol + 1;
  }
  return -1;
}

/* Reads one response: its status, the request id when asked for, and skips its body.
 * Returns -1 when the connection closed before a complete response. */
static int read_response(int fd, int *status, char *request_id, size_t id_cap) {
  char *head_end;
  for (;;) {
    head_end = have >= 4 ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
    if (head_end != NULL) break;
    if (have == sizeof buf) {
      errno = 0;
      fatal("response head too large");
    }
    ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    have += (size_t)r;
  }
  size_t head_len = (size_t)(head_end - buf) + 4;
  if (have < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0) {
    errno = 0;
    fatal("not an HTTP/1.1 response");
  }
  *status = atoi(buf + 9);
  char value[128];
  size_t body = 0;
  if (header(buf, head_end, "Content-Length", value, sizeof value) == 0) body = strtoul(value, NULL, 10);
  if (request_id != NULL && header(buf, head_end, "Lambda-Runtime-Aws-Request-Id", request_id, id_cap) != 0) {
    errno = 0;
    fatal("no Lambda-Runtime-Aws-Request-Id in the invocation");
  }
  /* Skip the body: what is buffered, then whatever is still to come. */
  size_t buffered = have - head_len;
  if (buffered >= body) {
    memmove(buf, buf + head_len + body, buffered - body);
    have = buffered - body;
    return 0;
  }
  size_t left = body - buffered;
  have = 0;
  while (left > 0) {
    ssize_t r = recv(fd, buf, left < sizeof buf ? left : sizeof buf, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    left -= (size_t)r;
  }
  return 0;
}

int main(void) {
  const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (api == NULL || *api == '\0') {
    errno = 0;
    fatal("AWS_LAMBDA_RUNTIME_API is not set");
  }
  const char *body = getenv("RESPONSE_BODY");
  if (body == NULL || *body == '\0') body = "{\"statusCode\":200,\"body\":\"ok\"}";
  size_t body_len = strlen(body);

  char next[512];
  int next_len = snprintf(next, sizeof next,
                          "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
  char request_id[128];
  char post[1024];
  int fd = connect_api(api);
  for (;;) {
    int status;
    if (send_all(fd, next, (size_t)next_len) != 0 || read_response(fd, &status, request_id, sizeof request_id) != 0) {
      close(fd);
      fd = connect_api(api);
      continue;
    }
    if (status != 200) {
      errno = 0;
      fatal("invocation/next did not answer 200");
    }
    int n = snprintf(post, sizeof post,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     request_id, api, body_len);
    if (n < 0 || (size_t)n + body_len > sizeof post) {
      errno = 0;
      fatal("response too large");
    }
    memcpy(post + n, body, body_len);
    if (send_all(fd, post, (size_t)n + body_len) != 0 || read_response(fd, &status, NULL, 0) != 0) {
      /* The invocation is lost with the connection; the gateway times it out. */
      close(fd);
      fd = connect_api(api);
      continue;
    }
    if (status != 202) {
      errno = 0;
      fatal("the response was not accepted (expected 202)");
    }
  }
}
