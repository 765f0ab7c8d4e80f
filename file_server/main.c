/* file_server: file transfer for PC clients. Clients connect on
 * ClientListenIP:ClientListenPort, msg_servers on MsgServerListenIP:MsgServerListenPort.
 * This file wires the daemon together: peers.c answers the msg_servers, clients.c moves the
 * files, task.c keeps the tasks, store.c the offline files; two timers end overdue tasks
 * (every second) and delete expired offline files. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "tt_log.h"

static void tick_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    fs_clients_tick(udata);
}

static void sweep_cb(tt_loop_t *loop, tt_timer_t *t, void *udata)
{
    (void)loop;
    (void)t;
    file_server_t *fs = udata;
    size_t n = fs_store_sweep(fs, (uint64_t)time(NULL));
    fs->files_expired += n;
    if (n)
        log_notice("%zu expired offline file(s) deleted", n);
}

static int configure(tt_daemon_t *d, void *udata)
{
    file_server_t *fs = udata;
    uint16_t port;
    uint32_t max_pdu;
    long long task_s, offline_s, block_s, login_s, max_tasks, max_block, inflight;
    if (tt_daemon_cfg_port(d, "ClientListenPort", -1, &fs->client_port) < 0 ||
        tt_daemon_cfg_port(d, "MsgServerListenPort", -1, &port) < 0 ||
        tt_daemon_cfg_str(d, "FileServerIp", &fs->advertised) < 0 ||
        tt_daemon_cfg_int(d, "TaskTimeout", 3600, 1, 30 * 86400, &task_s) < 0 ||
        tt_daemon_cfg_int(d, "OfflineFileTimeout", 7 * 86400, 1, 3650LL * 86400, &offline_s) <
            0 ||
        tt_daemon_cfg_int(d, "BlockTimeout", 30, 1, 3600, &block_s) < 0 ||
        tt_daemon_cfg_int(d, "LoginTimeout", 15, 1, 600, &login_s) < 0 ||
        tt_daemon_cfg_int(d, "MaxTasks", 4096, 1, 1000000, &max_tasks) < 0 ||
        tt_daemon_cfg_int(d, "MaxBlockSize", 65536, 34816, FS_MAX_BLOCK_CAP, &max_block) < 0 ||
        tt_daemon_cfg_int(d, "MaxBytesInFlight", 64 << 20, 1 << 20, 16LL << 30, &inflight) <
            0 ||
        tt_daemon_max_pdu(d, &max_pdu) < 0)
        return -1;
    fs->dir = tt_cfg_str(d->cfg, "OfflineDir", "offline_file");
    if (!fs->dir[0] || strlen(fs->dir) > 3000)
        return tt_daemon_cfg_error(d, "%s: OfflineDir must be a path of 1-3000 characters",
                                   tt_cfg_path(d->cfg));
    if (inflight < max_block)
        return tt_daemon_cfg_error(d, "%s: MaxBytesInFlight (%lld) is below MaxBlockSize (%lld)",
                                   tt_cfg_path(d->cfg), inflight, max_block);
    fs->task_timeout_ms = (uint64_t)task_s * 1000;
    fs->offline_timeout_s = (uint64_t)offline_s;
    fs->block_timeout_ms = (uint64_t)block_s * 1000;
    fs->login_timeout_ms = (uint64_t)login_s * 1000;
    fs->max_block = (uint32_t)max_block;
    fs->max_inflight = (uint64_t)inflight;
    fs_table_init(&fs->tasks, (size_t)max_tasks);
    /* a client frame is at most one block and its fields; an answer waiting in the output
     * buffer is at most a few of them */
    uint32_t client_pdu = fs->max_block + 1024;
    fs->client = (tt_server_opts_t){.max_pdu = client_pdu,
                                    .lim = {.idle_ms = 120000,
                                            .max_in = (size_t)client_pdu * 2,
                                            .max_out = (size_t)client_pdu * 16},
                                    .echo_heartbeat = 1};
    fs->peer = (tt_server_opts_t){.max_pdu = max_pdu, .lim = {.idle_ms = 30000},
                                  .echo_heartbeat = 1, .daemon_only = 1};
    uint64_t every = fs->offline_timeout_s * 1000 / 4;
    if (fs->task_timeout_ms / 4 < every)
        every = fs->task_timeout_ms / 4;
    fs->sweep_every_ms = every < 1000 ? 1000 : every > 60000 ? 60000 : every;
    return 0;
}

static int start(tt_daemon_t *d, void *udata)
{
    file_server_t *fs = udata;
    tt_timer_init(&fs->tick, tick_cb, fs);
    tt_timer_init(&fs->sweep, sweep_cb, fs);
    if (!(fs->block = malloc(FS_SEGMENT)))
        return -1;
    if (tt_daemon_listen(d, "ClientListenIP", "ClientListenPort", &fs->client,
                         &fs_client_handler, fs, &fs->clients) < 0 ||
        tt_daemon_listen(d, "MsgServerListenIP", "MsgServerListenPort", &fs->peer,
                         &fs_peer_handler, fs, &fs->msg_servers) < 0)
        return -1;
    tt_timer_start(d->loop, &fs->tick, 1000, 1000);
    tt_timer_start(d->loop, &fs->sweep, 0, fs->sweep_every_ms);
    log_notice("advertising %s:%u to clients; offline files in %s (kept %llu s), tasks end "
               "after %llu s without progress, up to %zu tasks, %llu bytes in flight",
               fs->advertised, (unsigned)fs->client_port, fs->dir,
               (unsigned long long)fs->offline_timeout_s,
               (unsigned long long)fs->task_timeout_ms / 1000, fs->tasks.max,
               (unsigned long long)fs->max_inflight);
    return 0;
}

static int discard_unfinished(const fs_task_t *t, void *arg)
{
    (void)arg;
    return t->mode == FS_OFFLINE && !t->complete && t->fd >= 0;
}

static void finish(tt_daemon_t *d, void *udata)
{
    file_server_t *fs = udata;
    if (!fs->block) { /* not started (-t, or a configuration error) */
        fs_table_free(&fs->tasks);
        return;
    }
    tt_timer_stop(d->loop, &fs->tick);
    tt_timer_stop(d->loop, &fs->sweep);
    fs_task_t *batch[128];
    size_t n;
    while ((n = fs_table_select(&fs->tasks, discard_unfinished, NULL, batch, 128)) > 0)
        for (size_t i = 0; i < n; i++)
            fs_store_discard(fs, batch[i]);
    log_notice("stopping: %llu bytes relayed, %llu stored, %llu served; %llu task(s) expired, "
               "%llu peer(s) cut, %llu file(s) expired; %zu task(s) left",
               (unsigned long long)fs->bytes_relayed, (unsigned long long)fs->bytes_stored,
               (unsigned long long)fs->bytes_served, (unsigned long long)fs->tasks_expired,
               (unsigned long long)fs->peers_cut, (unsigned long long)fs->files_expired,
               fs_table_len(&fs->tasks));
    fs_table_free(&fs->tasks);
    fs_clients_free();
    free(fs->block);
    fs->block = NULL;
}

static const tt_daemon_ops_t ops = {configure, start, finish};

int main(int argc, char **argv)
{
    file_server_t fs;
    memset(&fs, 0, sizeof(fs));
    return tt_daemon_main(&fs.d, "file_server", "fileserver.conf", argc, argv, &ops, &fs);
}
