/* atomicfile: see atomicfile.h. */
#include "atomicfile.h"

#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

int atomicfile_write(const char *path, const char *data, size_t len, mode_t mode, char *err, size_t errlen)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return ERR("%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ERR("%s: %s", tmp, strerror(errno));
    int rc = -1;
    if (write(fd, data, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
        ERR("%s: %s", tmp, strerror(errno));
    else if (rename(tmp, path) != 0)
        ERR("%s: %s", path, strerror(errno));
    else
        rc = 0;
    close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}
