#!/bin/sh
# Turns the shipped conf/*.conf (127.0.0.1 everywhere) into the container variant, where each
# daemon and MariaDB/Redis are reached by their docker-compose service name. Used at image build.
# Daemons reach each other over the compose network, so their daemon-only ports must not be on
# loopback: every conf reads the shared secret from /etc/teamtalk/secret/daemon_secret, which
# the daemon_secret service of docker-compose.yml makes once (see there).
set -e
src=${1:?usage: container-conf.sh SRC_CONF_DIR DEST_DIR}
dst=${2:?usage: container-conf.sh SRC_CONF_DIR DEST_DIR}
mkdir -p "$dst"
for f in "$src"/*.conf; do
    sed -e 's/^\(DBServerIP[0-9]*\)=127.0.0.1/\1=db_proxy_server/' \
        -e 's/^\(RouteServerIP[0-9]*\)=127.0.0.1/\1=route_server/' \
        -e 's/^\(LoginServerIP[0-9]*\)=127.0.0.1/\1=login_server/' \
        -e 's/^\(PushServerIP[0-9]*\)=127.0.0.1/\1=push_server/' \
        -e 's/^\(FileServerIP[0-9]*\)=127.0.0.1/\1=file_server/' \
        -e 's/^teamtalk_\(master\|slave\)_host=127.0.0.1/teamtalk_\1_host=mariadb/' \
        -e 's/^\([a-z_]*\)_host=127.0.0.1/\1_host=redis/' \
        -e 's/^ListenIP=127.0.0.1/ListenIP=0.0.0.0/' \
        -e 's/^MsgServerListenIP=127.0.0.1/MsgServerListenIP=0.0.0.0/' \
        -e 's#^MsfsSite=http://127.0.0.1:8700/#MsfsSite=http://msfs:8700/#' \
        -e 's#^BaseDir=.*#BaseDir=/var/lib/teamtalk/msfs#' \
        "$f" > "$dst/$(basename "$f")"
    printf '\nDaemonSecretFile=/etc/teamtalk/secret/daemon_secret\n' >> "$dst/$(basename "$f")"
done
