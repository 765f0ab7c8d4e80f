/* msg_server feature (layer 5): file transfer (file.c) — the links to the file_servers, the
 * transfer requests and their notifies, and the offline-file list kept by db_proxy_server. */
#ifndef MS_FILE_H
#define MS_FILE_H

#include "ms_dispatch.h"

extern const ms_feature_t ms_file_feature;

#endif
