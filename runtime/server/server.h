/*
 * server: the running node. The top of the server side: it opens the store
 * and the databases, starts the RESP loop and the HTTP loops with every
 * subsystem's routes (one prefix table, below in server.c), and runs until
 * SIGINT/SIGTERM or a signed shutdown. It calls every runtime folder but
 * cli; only cli calls it.
 *
 * Threads: server_run runs on the main thread, which waits for signals;
 * the loops run on threads of their own (http.h, resp.h).
 */
#ifndef LEITHER_SERVER_H
#define LEITHER_SERVER_H

#include "node.h"

#include <stdio.h>
#include <sys/types.h>

/* Pid of the node running in home h: 0 when none holds the pid-file lock,
 * -1 when one does but has not written its pid yet. */
pid_t server_running_pid(const home *h);

/* Runs the node of home h until SIGINT/SIGTERM or a signed shutdown;
 * `daemon` detaches first (log in leither.log). Takes the settings in h.
 * 0, or -1 with the reason (a port in use, a home another node runs). */
int server_run(home *h, int daemon, char *err, size_t errlen);

#endif
