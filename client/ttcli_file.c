/* ttcli's file commands, the Windows client's file transfer (CLIENTS §6) through msg_server and
 * file_server:
 *   send-file [--online] USER PATH  — asks msg_server for a transfer (offline unless --online;
 *       an online request to someone with no PC client online becomes offline), then serves
 *       file_server's pulls: offline it uploads and registers the file, online it waits for the
 *       receiver (a Windows client) to take it;
 *   files                           — the offline files waiting for you;
 *   get-file TASK [OUT]             — downloads one of them (to OUT, default its name in the
 *       current directory, never over an existing file) and deletes it from the list. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ttcli.h"

#define ONLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_ONLINE
#define OFFLINE IM__BASE_DEFINE__TRANSFER_FILE_TYPE__FILE_TYPE_OFFLINE
#define ONLINE_WAIT_MS 300000 /* send-file --online: how long the receiver may take */

/* The part of a path after its last '/' or '\\'. */
static const char *base_name(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    return b;
}

/* A request answered after everything sent before it was handled (adds and deletes have no
 * answer of their own). */
static void settle(cli_t *cli)
{
    char err[256];
    tt_pb_free(ttc_client_time(cli->c, cli->timeout_ms, err, sizeof(err)));
}

int cli_cmd_send_file(cli_t *cli, char **args)
{
    uint32_t mode = OFFLINE;
    if (args[0] && strcmp(args[0], "--online") == 0) {
        mode = ONLINE;
        args++;
    }
    if (!args[0] || !args[1] || args[2])
        return cli_die("send-file needs [--online] USER PATH");
    uint32_t to, self = ttc_user_id(cli->c);
    if (cli_resolve_user(cli, args[0], &to))
        return 1;
    const char *path = args[1], *name = base_name(path);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0)
        return cli_die("%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
        st.st_size > 0xffffffffLL || !*name) {
        close(fd);
        return cli_die("%s: not a regular, non-empty file under 4 GiB", path);
    }
    uint32_t size = (uint32_t)st.st_size;
    char err[512];
    IM__File__IMFileRsp *r =
        ttc_file_request(cli->c, to, name, size, mode, cli->timeout_ms, err, sizeof(err));
    if (!r) {
        close(fd);
        return cli_die("send-file: %s", err);
    }
    if (r->result_code != 0 || !r->task_id || !*r->task_id || r->n_ip_addr_list == 0) {
        tt_pb_free(r);
        close(fd);
        return cli_die("send-file: refused by the server (no file_server up, or over a limit)");
    }
    int online = r->trans_mode == ONLINE;
    char buf[32];
    const char *who = cli_user_name(cli, to, buf, sizeof(buf));
    printf("task %s: %s (%u bytes) to %s, %s, through %s:%u\n", r->task_id, name, size, who,
           online ? "online" : "offline", r->ip_addr_list[0]->ip, r->ip_addr_list[0]->port);
    if (online)
        printf("waiting up to %d s for %s to take it\n", ONLINE_WAIT_MS / 1000, who);
    ttc_t *f = ttc_file_login(r->ip_addr_list[0]->ip, (uint16_t)r->ip_addr_list[0]->port, self,
                              r->task_id, online ? 1 : 3, cli->timeout_ms, err, sizeof(err));
    int rc = 1;
    if (!f) {
        rc = cli_die("send-file: %s", err);
        goto out;
    }
    uint64_t served = 0;
    int sr = ttc_file_serve(f, self, r->task_id, fd, size, online ? ONLINE_WAIT_MS
                                                                  : cli->timeout_ms,
                            &served, err, sizeof(err));
    ttc_close(f);
    if (sr != 0) {
        rc = cli_die("send-file: %s", err);
        goto out;
    }
    if (!online) {
        if (ttc_file_add_offline(cli->c, self, to, r->task_id, name, size) != 0) {
            rc = cli_die("send-file: uploaded, but not registered: %s", ttc_error(cli->c));
            goto out;
        }
        settle(cli);
        printf("uploaded; %s gets it with: ttcli get-file %s\n", who, r->task_id);
    } else {
        printf("sent: %s took it\n", who);
    }
    rc = 0;
out:
    tt_pb_free(r);
    close(fd);
    return rc;
}

int cli_cmd_files(cli_t *cli, char **args)
{
    (void)args;
    char err[512], buf[32];
    IM__File__IMFileHasOfflineRsp *l = ttc_file_offline_list(cli->c, cli->timeout_ms, err,
                                                             sizeof(err));
    if (!l)
        return cli_die("files: %s", err);
    if (l->n_offline_file_list == 0)
        printf("no files waiting\n");
    for (size_t i = 0; i < l->n_offline_file_list; i++) {
        const IM__BaseDefine__OfflineFileInfo *o = l->offline_file_list[i];
        cli_put_clean(o->task_id);
        printf("\t%s\t%u\t", cli_user_name(cli, o->from_user_id, buf, sizeof(buf)), o->file_size);
        cli_put_clean(o->file_name);
        printf("\n");
    }
    tt_pb_free(l);
    return 0;
}

int cli_cmd_get_file(cli_t *cli, char **args)
{
    char err[512], buf[32];
    const char *task = args[0];
    uint32_t self = ttc_user_id(cli->c);
    IM__File__IMFileHasOfflineRsp *l = ttc_file_offline_list(cli->c, cli->timeout_ms, err,
                                                             sizeof(err));
    if (!l)
        return cli_die("get-file: %s", err);
    const IM__BaseDefine__OfflineFileInfo *o = NULL;
    for (size_t i = 0; i < l->n_offline_file_list && !o; i++)
        if (strcmp(l->offline_file_list[i]->task_id, task) == 0)
            o = l->offline_file_list[i];
    int rc = 1, fd = -1;
    const char *out = args[1];
    if (!o) {
        rc = cli_die("get-file: no file %s waiting for you (see ttcli files)", task);
        goto done;
    }
    if (l->n_ip_addr_list == 0) {
        rc = cli_die("get-file: no file_server up");
        goto done;
    }
    if (!out) {
        out = base_name(o->file_name);
        if (!*out || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
            out = task;
    }
    fd = open(out, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        rc = cli_die("get-file: %s: %s", out, strerror(errno));
        goto done;
    }
    ttc_t *f = ttc_file_login(l->ip_addr_list[0]->ip, (uint16_t)l->ip_addr_list[0]->port, self,
                              task, 4, cli->timeout_ms, err, sizeof(err));
    int fr = f ? ttc_file_fetch(f, self, task, OFFLINE, fd, o->file_size, 0, cli->timeout_ms,
                                err, sizeof(err))
               : -1;
    ttc_close(f);
    if (fr != 0 || fsync(fd) != 0) {
        close(fd);
        fd = -1;
        unlink(out);
        rc = cli_die("get-file: %s", err);
        goto done;
    }
    ttc_file_del_offline(cli->c, o->from_user_id, self, task);
    settle(cli);
    printf("got %s (%u bytes) from %s into %s\n", base_name(o->file_name), o->file_size,
           cli_user_name(cli, o->from_user_id, buf, sizeof(buf)), out);
    rc = 0;
done:
    if (fd >= 0)
        close(fd);
    tt_pb_free(l);
    return rc;
}
