/* mailbox: results handed from OpenDHT's thread to the loop that asked
 * (dht.h). A locked queue and a pipe: the pipe holds one byte while the
 * queue is not empty, so the loop's poll wakes once per batch. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

typedef struct message {
    struct message *next;
    dht_value_fn on_value; /* either */
    dht_done_fn on_done;
    void *ctx;
    int ok;
    size_t len;
    uint8_t data[];
} message;

struct dht_mailbox {
    pthread_mutex_t lock;
    message *head, *tail;
    size_t count;
    int pipe[2]; /* [0] the loop polls, [1] written when the queue fills from empty */
};

dht_mailbox *dht_mailbox_new(char *err, size_t errlen)
{
    dht_mailbox *mb = calloc(1, sizeof *mb);
    if (!mb) {
        ERR("out of memory");
        return NULL;
    }
    if (pipe2(mb->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        ERR("dht: pipe: %s", strerror(errno));
        free(mb);
        return NULL;
    }
    pthread_mutex_init(&mb->lock, NULL);
    return mb;
}

int dht_mailbox_fd(const dht_mailbox *mb) { return mb->pipe[0]; }

static void post(dht_mailbox *mb, message *m)
{
    pthread_mutex_lock(&mb->lock);
    if (mb->count >= DHT_MAILBOX_MAX) { /* the loop is behind: a flood costs no more memory */
        pthread_mutex_unlock(&mb->lock);
        free(m);
        return;
    }
    int was_empty = mb->count == 0;
    if (mb->tail)
        mb->tail->next = m;
    else
        mb->head = m;
    mb->tail = m;
    mb->count++;
    pthread_mutex_unlock(&mb->lock);
    if (was_empty && write(mb->pipe[1], "", 1) < 0 && errno != EAGAIN) {
        /* a full pipe already wakes the loop */
    }
}

void dht_mailbox_post_value(dht_mailbox *mb, dht_value_fn fn, void *ctx, const uint8_t *data, size_t len)
{
    if (len > DHT_VALUE_MAX)
        len = DHT_VALUE_MAX + 1; /* enough for the reader to see it is too large */
    message *m = calloc(1, sizeof *m + len);
    if (!m)
        return;
    m->on_value = fn;
    m->ctx = ctx;
    m->len = len;
    memcpy(m->data, data, len);
    post(mb, m);
}

void dht_mailbox_post_done(dht_mailbox *mb, dht_done_fn fn, void *ctx, int ok)
{
    message *m = calloc(1, sizeof *m);
    if (!m)
        return;
    m->on_done = fn;
    m->ctx = ctx;
    m->ok = ok;
    post(mb, m);
}

void dht_mailbox_drain(dht_mailbox *mb)
{
    char buf[64];
    while (read(mb->pipe[0], buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&mb->lock);
    message *m = mb->head;
    mb->head = mb->tail = NULL;
    mb->count = 0;
    pthread_mutex_unlock(&mb->lock);
    while (m) {
        message *next = m->next;
        if (m->on_value)
            m->on_value(m->ctx, m->data, m->len);
        else if (m->on_done)
            m->on_done(m->ctx, m->ok);
        free(m);
        m = next;
    }
}

void dht_mailbox_free(dht_mailbox *mb)
{
    if (!mb)
        return;
    for (message *m = mb->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    close(mb->pipe[0]);
    close(mb->pipe[1]);
    pthread_mutex_destroy(&mb->lock);
    free(mb);
}
