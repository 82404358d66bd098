# route-cost.sh: what a route feature costs, as requests per Portico-CPU-second against
# the same route without it, measured in one run (sourced by validation-bench and
# formatting-bench).
#
# The caller sets, then calls route_cost_main:
#   NAME            the benchmark's name (messages)
#   NGINX_LOCATIONS nginx `location` blocks of the upstream (listening on $UP_PORT)
#   ROUTES          Portico `routes:` entries (YAML) to the upstream `origin`
#   VARIANTS        variant names; each is requested at /VARIANT$TARGET_PATH, the first
#                   is the baseline the others are divided by
#   TARGET_PATH     the path after the variant (/orders)
#   WRK_LUA         a wrk script (method, body, headers), or empty for GET
#   TARGETS         "variant=target" pairs for the summary ("valid=0.8")
#
# Method. A Debian nginx (1 worker) is the upstream; one Portico (WORKERS workers, no
# access log) has a route per variant. wrk requests each variant in turn, RUN seconds
# after WARMUP, the order rotated each round; the figure is requests per Portico-CPU-
# second (utime+stime of Portico's process over the run), the median over ROUNDS.
# Any non-2xx answer stops the benchmark (a variant that fails is not measured).
# PERF=VARIANT records `perf record -g` of Portico during that variant's last run, into
# PERF_OUT (default ./perf-VARIANT.data), for `perf report -i FILE --no-children`.
set -euo pipefail

WORKERS=${WORKERS:-2}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
RUN=${RUN:-8}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
NGINX=${NGINX:-/usr/sbin/nginx}
WRK=${WRK:-wrk}

route_cost_setup() {
  [[ -x $PORTICO ]] || { echo "$NAME: no portico at $PORTICO (make build)" >&2; exit 1; }
  DIR=$(mktemp -d)
  PIDS=()
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"' EXIT
  free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  UP_PORT=$(free_port)
  PORT=$(free_port)
}

route_cost_start() {
  mkdir -p "$DIR/nginx"
  cat >"$DIR/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $DIR/nginx/body; proxy_temp_path $DIR/nginx/proxy;
  fastcgi_temp_path $DIR/nginx/fcgi; uwsgi_temp_path $DIR/nginx/uwsgi; scgi_temp_path $DIR/nginx/scgi;
  server {
    listen 127.0.0.1:$UP_PORT;
$NGINX_LOCATIONS
  }
}
CONF
  "$NGINX" -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" &
  PIDS+=($!)
  cat >"$DIR/portico.yaml" <<CONF
server: {listen: 127.0.0.1:$PORT, admin: off, workers: $WORKERS, access_log: off}
upstreams:
  origin: {endpoints: [127.0.0.1:$UP_PORT], pool: {max_idle: 256}}
routes:
$ROUTES
CONF
  "$PORTICO" run -c "$DIR/portico.yaml" --no-watch >"$DIR/portico.log" 2>&1 &
  PORTICO_PID=$!
  PIDS+=($PORTICO_PID)
  echo "${WRK_LUA:-}" >"$DIR/request.lua"
  local code=""
  for _ in $(seq 100); do
    code=$("$WRK" -t1 -c1 -d1s -s "$DIR/request.lua" "http://127.0.0.1:$PORT/${VARIANTS[-1]}$TARGET_PATH" 2>/dev/null |
      awk '/Non-2xx/ {bad=1} /requests in/ {n=$1} END {print (n > 0 && !bad) ? "ok" : "no"}' || true)
    [[ $code == ok ]] && break
    sleep 0.1
  done
  [[ $code == ok ]] || { echo "$NAME: Portico is not answering 2xx on /${VARIANTS[-1]}$TARGET_PATH" >&2; cat "$DIR/portico.log" >&2; exit 1; }
}

route_cost_run() {  # route_cost_run VARIANT -> "rps req_per_cpu_s"
  local url="http://127.0.0.1:$PORT/$1$TARGET_PATH"
  "$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$DIR/request.lua" "$url" >/dev/null
  local t0 t1 out requests non2xx
  t0=$(awk '{print $14 + $15}' "/proc/$PORTICO_PID/stat")
  local perf_pid=""
  if [[ -n ${PERF:-} && $1 == "$PERF" && ${ROUND:-0} == "$ROUNDS" ]]; then
    perf record -F 999 -g -p "$PORTICO_PID" -o "${PERF_OUT:-perf-$1.data}" -- sleep "$RUN" \
      >"$DIR/perf.log" 2>&1 &
    perf_pid=$!
  fi
  out=$("$WRK" -t"$THREADS" -c"$CONNECTIONS" -d"${RUN}s" -s "$DIR/request.lua" "$url")
  t1=$(awk '{print $14 + $15}' "/proc/$PORTICO_PID/stat")
  [[ -z $perf_pid ]] || wait "$perf_pid" || true
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [[ -z $non2xx ]] || { echo "$NAME: $1 got $non2xx non-2xx answers" >&2; exit 1; }
  awk -v n="$requests" -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v run="$RUN" \
    'BEGIN {printf "%.0f %.0f\n", n / run, n / (t / hz)}'
}

route_cost_main() {
  route_cost_setup
  route_cost_start
  declare -A FIG
  echo "round  variant        rps  req/portico-cpu-s"
  for r in $(seq "$ROUNDS"); do
    local order=("${VARIANTS[@]}")
    if ((r % 2 == 0)); then  # reversed every other round
      order=()
      for ((i = ${#VARIANTS[@]} - 1; i >= 0; i--)); do order+=("${VARIANTS[i]}"); done
    fi
    for v in "${order[@]}"; do
      read -r rps per_cpu < <(ROUND=$r route_cost_run "$v")
      FIG[$v]+="$per_cpu "
      printf "%-6s %-12s %7s %18s\n" "$r" "$v" "$rps" "$per_cpu"
    done
  done
  median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
  local base=${VARIANTS[0]} base_fig result="RESULT"
  base_fig=$(median "${FIG[$base]}")
  echo
  echo "medians over $ROUNDS rounds (wrk -t$THREADS -c$CONNECTIONS -d${RUN}s, workers=$WORKERS):"
  for v in "${VARIANTS[@]}"; do
    local fig target=""
    fig=$(median "${FIG[$v]}")
    for t in ${TARGETS:-}; do [[ ${t%%=*} == "$v" ]] && target="  (target >= ${t#*=})"; done
    if [[ $v == "$base" ]]; then
      printf "  %-12s %8s req/portico-cpu-s\n" "$v" "$fig"
    else
      awk -v n="$v" -v a="$fig" -v b="$base_fig" -v base="$base" -v t="$target" \
        'BEGIN {printf "  %-12s %8s req/portico-cpu-s   %s / %s  %.2f%s\n", n, a, n, base, a / b, t}'
    fi
    result+=" ${v}_req_per_cpu_s=$fig"
  done
  echo "$result"
}
