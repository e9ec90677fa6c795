#ifndef DV_CLIBSSH2_SHIM_H
#define DV_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>

/* Function-like macros of libssh2 that Swift does not import. */
static inline LIBSSH2_SESSION *dv_ssh2_session_init(void) {
    return libssh2_session_init_ex(NULL, NULL, NULL, NULL);
}
static inline LIBSSH2_CHANNEL *dv_ssh2_channel_open_session(LIBSSH2_SESSION *s) {
    return libssh2_channel_open_ex(s, "session", sizeof("session") - 1,
                                   LIBSSH2_CHANNEL_WINDOW_DEFAULT, LIBSSH2_CHANNEL_PACKET_DEFAULT, NULL, 0);
}
static inline int dv_ssh2_channel_exec(LIBSSH2_CHANNEL *c, const char *command) {
    return libssh2_channel_process_startup(c, "exec", sizeof("exec") - 1, command, (unsigned int)strlen(command));
}
static inline int dv_ssh2_session_disconnect(LIBSSH2_SESSION *s, const char *why) {
    return libssh2_session_disconnect_ex(s, SSH_DISCONNECT_BY_APPLICATION, why, "");
}
#endif
