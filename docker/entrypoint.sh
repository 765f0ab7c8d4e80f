#!/bin/sh
# docker-entrypoint DAEMON [ARGS...]: runs one TeamTalk daemon in the foreground with its
# config from /etc/teamtalk (override by mounting your own files there).
# make-secret: writes a random secret to /etc/teamtalk/secret/daemon_secret unless one is
# there (the daemon_secret service of docker-compose.yml runs it once, on a shared volume).
set -e
name=${1:?usage: DAEMON [ARGS]}
shift
if [ "$name" = make-secret ]; then
    f=/etc/teamtalk/secret/daemon_secret
    if [ ! -s "$f" ]; then
        umask 077
        od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$f.tmp" && mv "$f.tmp" "$f"
        echo "made the daemons' shared secret in $f"
    fi
    exit 0
fi
case "$name" in
    login_server) conf=loginserver.conf ;;
    msg_server) conf=msgserver.conf ;;
    route_server) conf=routeserver.conf ;;
    db_proxy_server) conf=dbproxyserver.conf ;;
    http_msg_server) conf=httpmsgserver.conf ;;
    file_server) conf=fileserver.conf ;;
    msfs) conf=msfs.conf ;;
    push_server) conf=pushserver.conf ;;
    *) exec "$name" "$@" ;;
esac
exec "/usr/local/bin/$name" -c "/etc/teamtalk/$conf" -l /etc/teamtalk/log4crc "$@"
