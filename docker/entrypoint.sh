#!/bin/sh
# docker-entrypoint DAEMON [ARGS...]: runs one TeamTalk daemon in the foreground with its
# config from /etc/teamtalk (override by mounting your own files there).
set -e
name=${1:?usage: DAEMON [ARGS]}
shift
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
