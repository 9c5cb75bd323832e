#!/usr/bin/env bash
# Start the local services the tests use when they are not running (the python-svc machine's
# own start commands). The SQLite tests need none; PostgreSQL is for the scale-out store, NATS and
# RabbitMQ for the queue endpoints.
set -u

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then return 0; fi
  echo "services: $name is not listening on $port; starting it"
  "$@" >/dev/null 2>&1 || echo "services: could not start $name ($*)" >&2
  for _ in $(seq 1 "${TRIES:-50}"); do port_open "$port" && return 0; sleep 0.2; done
  echo "services: $name is still not listening on $port" >&2
}

if command -v pg_ctlcluster >/dev/null 2>&1; then
  ensure postgresql 5432 pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
fi
if [ -x /usr/sbin/nats-server ]; then
  ensure nats 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
if [ -x /usr/sbin/rabbitmq-server ]; then
  TRIES=150 ensure rabbitmq 5672 /usr/sbin/rabbitmq-server -detached  # the Erlang VM starts slowly
fi
# The browser tests (tests/browser) drive Debian's Chromium; Playwright's own browser download cannot
# work here, so the distribution's package is the browser.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  echo "services: /usr/bin/chromium is missing; installing Debian's chromium for the browser tests"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
    || echo "services: could not install chromium (apt-get install chromium)" >&2
fi
exit 0
