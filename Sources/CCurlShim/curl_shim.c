#include "CCurlShim.h"

CURLcode dv_curl_setopt_long(CURL *h, CURLoption opt, long value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_string(CURL *h, CURLoption opt, const char *value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_pointer(CURL *h, CURLoption opt, void *value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_write_function(CURL *h, CURLoption opt, curl_write_callback value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_read_function(CURL *h, CURLoption opt, curl_read_callback value) { return curl_easy_setopt(h, opt, value); }
CURLcode dv_curl_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback value) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, value); }
CURLcode dv_curl_setopt_debug_function(CURL *h, curl_debug_callback value) { return curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, value); }

CURLcode dv_curl_getinfo_long(CURL *h, CURLINFO info, long *value) { return curl_easy_getinfo(h, info, value); }
CURLcode dv_curl_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *value) { return curl_easy_getinfo(h, info, value); }
CURLcode dv_curl_getinfo_string(CURL *h, CURLINFO info, const char **value) { return curl_easy_getinfo(h, info, value); }

curl_version_info_data *dv_curl_version_info(void) { return curl_version_info(CURLVERSION_NOW); }
