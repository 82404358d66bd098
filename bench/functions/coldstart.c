/* bench/functions/coldstart.c: a runtime's cold start on its own, with no gateway.
 *
 * It serves the part of the Lambda Runtime API a cold start touches, spawns the
 * runtime with only Lambda's variables (as a gateway would: no inherited
 * environment), hands it one invocation and times spawn -> the invocation's
 * /response, then kills the runtime's process group. bench/functions-bench subtracts
 * this from the client-observed latency of a cold request through Portico to get
 * Portico's own share of a cold start.
 *
 * usage: coldstart [-n SAMPLES] [-w WARM] [-d CODE_DIR] [-H HANDLER] [-f NAME]
 *                  [-r RUNTIME_DIR] [-x EXECUTION_ENV] [-e NAME=VALUE]... -- PROGRAM [ARG...]
 * prints one line per sample: the time from just before spawning to the moment the
 * complete /response request has been read, in microseconds.
 * With -w WARM, each sample then serves WARM more invocations, one after another, and
 * the line gets two more fields: the runtime's CPU time (all its threads, from
 * /proc/PID/task/TID/schedstat) per warm invocation and this server's own, in
 * microseconds. That is
 * what the runtime costs per invocation with the cheapest Runtime API server there is.
 *
 * The runtime starts with posix_spawn (vfork semantics: the cheapest way there is to
 * start a process), in a process group of its own, with CODE_DIR as its working
 * directory, stdin from /dev/null and stdout/stderr to /dev/null.
 *
 * Build: cc -O2 -o coldstart coldstart.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 16
#define MAX_ENV 64

/* A payload format 2.0 event of the size and shape a gateway sends for GET /fn. */
static const char EVENT[] =
    "{\"version\":\"2.0\",\"routeKey\":\"GET /fn\",\"rawPath\":\"/fn\",\"rawQueryString\":\"\","
    "\"headers\":{\"host\":\"127.0.0.1:18000\",\"user-agent\":\"curl/7.88.1\",\"accept\":\"*/*\"},"
    "\"requestContext\":{\"accountId\":\"000000000000\",\"apiId\":\"portico\",\"domainName\":"
    "\"127.0.0.1\",\"domainPrefix\":\"127\",\"http\":{\"method\":\"GET\",\"path\":\"/fn\","
    "\"protocol\":\"HTTP/1.1\",\"sourceIp\":\"127.0.0.1\",\"userAgent\":\"curl/7.88.1\"},"
    "\"requestId\":\"0b2f4c9e8d7a6b5c\",\"routeKey\":\"GET /fn\",\"stage\":\"$default\","
    "\"time\":\"01/Dec/2026:00:00:00 +0000\",\"timeEpoch\":1795996800000},"
    "\"isBase64Encoded\":false}";

struct conn {
  int fd;
  size_t have;
  char buf[1 << 16];
};

static struct conn conns[MAX_CONNS];

static void die(const char *what) {
  fprintf(stderr, "coldstart: %s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return; /* the runtime went away; its sample fails on the timeout */
    }
    p += w;
    n -= (size_t)w;
  }
}

static size_t content_length(const char *head, const char *end) {
  static const char name[] = "content-length:";
  for (const char *line = head; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > sizeof name - 1 && strncasecmp(line, name, sizeof name - 1) == 0)
      return strtoul(line + sizeof name - 1, NULL, 10);
    line = eol + 1;
  }
  return 0;
}

static void reply(int fd, int status, const char *extra, const char *body) {
  char head[1024];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                   status, status == 200 ? "OK" : status == 202 ? "Accepted" : "Not Found", extra,
                   strlen(body));
  char out[4096];
  size_t bl = strlen(body);
  if ((size_t)n + bl <= sizeof out) {
    memcpy(out, head, (size_t)n);
    memcpy(out + n, body, bl);
    send_all(fd, out, (size_t)n + bl);
  } else {
    send_all(fd, head, (size_t)n);
    send_all(fd, body, bl);
  }
}

/* The CPU time of every thread of PID so far, in microseconds: the first field of each
 * /proc/PID/task/TID/schedstat (time on a CPU, in nanoseconds: exact, where utime and
 * stime in /proc/PID/stat are reported in clock ticks). */
static long long proc_cpu_us(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (d == NULL) return -1;
  unsigned long long ns = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char file[320];
    snprintf(file, sizeof file, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
    FILE *f = fopen(file, "r");
    if (f == NULL) continue;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) == 1) ns += v;
    fclose(f);
  }
  closedir(d);
  return (long long)(ns / 1000);
}

static long long self_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

static void send_event(int fd, const char *id) {
  char extra[512];
  snprintf(extra, sizeof extra,
           "Lambda-Runtime-Aws-Request-Id: %s\r\nLambda-Runtime-Deadline-Ms: %lld\r\n"
           "Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n"
           "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n",
           id, (long long)time(NULL) * 1000 + 30000);
  reply(fd, 200, extra, EVENT);
}

/* One sample: spawn, serve one invocation (and `warm` more), print the microseconds to
 * the first /response (and the CPU per warm invocation). */
static void sample(char *const argv[], char **envp_base, int nenv, const char *code_dir, int serial,
                   int warm) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (lfd < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0) die("bind/listen");
  socklen_t al = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &al);

  char api[64], stream[96];
  snprintf(api, sizeof api, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", ntohs(a.sin_port));
  snprintf(stream, sizeof stream, "AWS_LAMBDA_LOG_STREAM_NAME=2026/12/01/[$LATEST]%032x", serial);
  char *envp[MAX_ENV + 4];
  int k = 0;
  for (int i = 0; i < nenv; i++) envp[k++] = envp_base[i];
  envp[k++] = api;
  envp[k++] = stream;
  envp[k] = NULL;

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  if (code_dir != NULL) posix_spawn_file_actions_addchdir_np(&fa, code_dir);
  posix_spawnattr_t sa;
  posix_spawnattr_init(&sa);
  posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&sa, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&sa, &none);
  posix_spawnattr_setsigdefault(&sa, &all);

  long long t0 = now_ns();
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &sa, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&sa);
  if (rc != 0) {
    errno = rc;
    die(argv[0]);
  }

  for (int i = 0; i < MAX_CONNS; i++) conns[i].fd = -1;
  int sent = 0, done = 0, total = 1 + warm;
  long long t1 = -1, cpu1 = 0, self1 = 0;
  char id[64];
  while (done < total) {
    struct pollfd p[MAX_CONNS + 1];
    int map[MAX_CONNS + 1], np = 0;
    p[np].fd = lfd;
    p[np].events = POLLIN;
    map[np++] = -1;
    for (int i = 0; i < MAX_CONNS; i++)
      if (conns[i].fd >= 0) {
        p[np].fd = conns[i].fd;
        p[np].events = POLLIN;
        map[np++] = i;
      }
    int r = poll(p, (nfds_t)np, 30000);
    if (r == 0) {
      fprintf(stderr, "coldstart: no /response within 30 s\n");
      kill(-pid, SIGKILL);
      exit(1);
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    for (int j = 0; j < np && done < total; j++) {
      if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (map[j] < 0) {
        int fd;
        while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          int slot = -1;
          for (int i = 0; i < MAX_CONNS; i++)
            if (conns[i].fd < 0) {
              slot = i;
              break;
            }
          if (slot < 0) {
            close(fd);
            continue;
          }
          conns[slot].fd = fd;
          conns[slot].have = 0;
        }
        continue;
      }
      struct conn *c = &conns[map[j]];
      ssize_t n = recv(c->fd, c->buf + c->have, sizeof c->buf - c->have, 0);
      if (n <= 0) {
        close(c->fd);
        c->fd = -1;
        continue;
      }
      c->have += (size_t)n;
      /* Serve every complete request in the buffer. */
      for (;;) {
        char *end = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
        if (end == NULL) break;
        size_t head_len = (size_t)(end - c->buf) + 4;
        size_t body = content_length(c->buf, end);
        if (c->have < head_len + body) break;
        if (strncmp(c->buf, "GET /2018-06-01/runtime/invocation/next ", 40) == 0) {
          if (sent < total && sent == done) {
            snprintf(id, sizeof id, "5f0c3a9b-e4d2-4c7a-%04x-%012d", sent & 0xffff, serial);
            send_event(c->fd, id);
            sent++;
          }
          /* else: the runtime idle again after the last one, left waiting */
        } else if (strncmp(c->buf, "POST /2018-06-01/runtime/invocation/", 36) == 0 &&
                   memmem(c->buf, head_len, "/response ", 10) != NULL) {
          if (++done == 1) {
            t1 = now_ns();
            cpu1 = proc_cpu_us(pid);
            self1 = self_cpu_us();
          }
          reply(c->fd, 202, "", "{\"status\":\"OK\"}");
        } else if (strncmp(c->buf, "POST ", 5) == 0) {
          fprintf(stderr, "coldstart: the runtime reported an error: %.*s\n", (int)(c->have - head_len),
                  c->buf + head_len);
          reply(c->fd, 202, "", "{\"status\":\"OK\"}");
          kill(-pid, SIGKILL);
          exit(1);
        } else {
          reply(c->fd, 404, "", "{\"errorType\":\"InvalidRequest\"}");
        }
        memmove(c->buf, c->buf + head_len + body, c->have - head_len - body);
        c->have -= head_len + body;
      }
    }
  }
  long long cpu2 = warm > 0 ? proc_cpu_us(pid) : 0, self2 = warm > 0 ? self_cpu_us() : 0;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  for (int i = 0; i < MAX_CONNS; i++)
    if (conns[i].fd >= 0) close(conns[i].fd);
  close(lfd);
  if (warm > 0)
    printf("%lld %.1f %.1f\n", (t1 - t0) / 1000, (double)(cpu2 - cpu1) / warm, (double)(self2 - self1) / warm);
  else
    printf("%lld\n", (t1 - t0) / 1000);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int samples = 1, warm = 0, opt;
  const char *code_dir = NULL, *handler = "function.handler", *name = "bench", *runtime_dir = NULL,
             *exec_env = NULL;
  static char *envp[MAX_ENV];
  static char storage[MAX_ENV][512];
  int nenv = 0;
  char *extra[MAX_ENV];
  int nextra = 0;
  while ((opt = getopt(argc, argv, "+n:w:d:H:f:r:x:e:")) != -1) {
    switch (opt) {
      case 'n': samples = atoi(optarg); break;
      case 'w': warm = atoi(optarg); break;
      case 'd': code_dir = optarg; break;
      case 'H': handler = optarg; break;
      case 'f': name = optarg; break;
      case 'r': runtime_dir = optarg; break;
      case 'x': exec_env = optarg; break;
      case 'e':
        if (nextra < MAX_ENV - 24) extra[nextra++] = optarg;
        break;
      default:
        fprintf(stderr, "usage: coldstart [-n N] [-w WARM] [-d DIR] [-H HANDLER] [-f NAME] [-r RUNTIME_DIR] "
                        "[-x EXEC_ENV] [-e N=V]... -- PROGRAM [ARG...]\n");
        return 2;
    }
  }
  if (optind >= argc || samples < 1 || warm < 0) {
    fprintf(stderr, "coldstart: no program to run\n");
    return 2;
  }
  if (code_dir == NULL) code_dir = ".";
  if (runtime_dir == NULL) runtime_dir = code_dir;
#define SETENV(...)                                                       \
  do {                                                                    \
    snprintf(storage[nenv], sizeof storage[nenv], __VA_ARGS__);           \
    envp[nenv] = storage[nenv];                                           \
    nenv++;                                                               \
  } while (0)
  for (int i = 0; i < nextra; i++) SETENV("%s", extra[i]);
  /* Lambda's variables, as a gateway sets them (the listener's port and the log
   * stream are added per sample). */
  SETENV("_HANDLER=%s", handler);
  SETENV("LAMBDA_TASK_ROOT=%s", code_dir);
  SETENV("LAMBDA_RUNTIME_DIR=%s", runtime_dir);
  SETENV("AWS_LAMBDA_FUNCTION_NAME=%s", name);
  SETENV("AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
  SETENV("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128");
  SETENV("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", name);
  SETENV("AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
  SETENV("AWS_REGION=us-east-1");
  SETENV("AWS_DEFAULT_REGION=us-east-1");
  if (exec_env != NULL) SETENV("AWS_EXECUTION_ENV=%s", exec_env);
  SETENV("TZ=:UTC");
  SETENV("LANG=en_US.UTF-8");
  SETENV("PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin");
  SETENV("LD_LIBRARY_PATH=/lib64:/usr/lib64:%s:%s/lib:/opt/lib", code_dir, code_dir);
  signal(SIGPIPE, SIG_IGN);
  for (int s = 0; s < samples; s++) sample(argv + optind, envp, nenv, code_dir, getpid() * 1000 + s, warm);
  return 0;
}
