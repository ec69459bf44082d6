// A headless libpurple (Pidgin's library, Debian's libpurple0) voice client:
// a Google Talk voice implementation nobody here wrote, run as talkcheck's
// client under test (--client_cmd). libpurple's XMPP plugin speaks the Google
// session protocol (its jabber/google/google_session.c) with Farstream and
// libnice in Google compatibility mode for the candidates and the media.
//
// It logs in, advertises audio (so libpurple adds voice-v1 to its caps), and
// takes talkcheck's control lines on stdin: "call JID", and "answer",
// "reject", "hangup" with an optional JID. Audio comes from GStreamer's
// audiotestsrc and goes to a fakesink, so no sound device is needed. What
// happens is printed on stderr.
//
// Usage:
//   purple_client --server=127.0.0.1:5222 --jid=cut@talkcheck.test
//       --password=secret [--tls=off|optional|required]
#include <execinfo.h>
#include <gst/gst.h>
#include <purple.h>
#include <signal.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "media-gst.h"

namespace {

constexpr char kUiId[] = "talkcheck-purple-client";

struct Options {
  std::string host = "127.0.0.1";
  int port = 5222;
  std::string jid;
  std::string password;
  std::string tls = "optional";
};

// The calls libpurple has open, oldest first. An incoming one rings until
// the user answers or rejects it; "hangup" ends it, ringing or not.
struct Call {
  PurpleMedia* media;
  std::string remote;  // the other side's JID, as libpurple names it
  bool ringing;        // incoming, not answered yet
};
std::vector<Call> calls;
PurpleAccount* account = nullptr;
GMainLoop* loop = nullptr;

void Log(const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fputs("purple_client: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
}

// libpurple's event loop on GLib's main loop (libpurple's nullclient
// example does the same).
constexpr GIOCondition kReadCond =
    static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR);
constexpr GIOCondition kWriteCond =
    static_cast<GIOCondition>(G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL);

struct IoClosure {
  PurpleInputFunction function;
  gpointer data;
};

gboolean IoInvoke(GIOChannel* source, GIOCondition condition, gpointer data) {
  auto* closure = static_cast<IoClosure*>(data);
  int purple_condition = 0;
  if (condition & kReadCond) purple_condition |= PURPLE_INPUT_READ;
  if (condition & kWriteCond) purple_condition |= PURPLE_INPUT_WRITE;
  closure->function(closure->data, g_io_channel_unix_get_fd(source),
                    static_cast<PurpleInputCondition>(purple_condition));
  return TRUE;
}

guint InputAdd(gint fd, PurpleInputCondition condition,
               PurpleInputFunction function, gpointer data) {
  auto* closure = g_new0(IoClosure, 1);
  closure->function = function;
  closure->data = data;
  int cond = 0;
  if (condition & PURPLE_INPUT_READ) cond |= kReadCond;
  if (condition & PURPLE_INPUT_WRITE) cond |= kWriteCond;
  GIOChannel* channel = g_io_channel_unix_new(fd);
  const guint id = g_io_add_watch_full(channel, G_PRIORITY_DEFAULT,
                                       static_cast<GIOCondition>(cond),
                                       IoInvoke, closure, g_free);
  g_io_channel_unref(channel);
  return id;
}

PurpleEventLoopUiOps event_loop_ops = {
    g_timeout_add,         g_source_remove, InputAdd, g_source_remove, nullptr,
    g_timeout_add_seconds, nullptr,         nullptr,  nullptr};

// The server's certificate is self-signed and made at start: libpurple asks
// the user whether to accept it; this user always does (nothing here tests
// the certificate). The first action is libpurple's "Accept".
void* RequestAction(const char* title, const char* primary, const char*, int,
                    PurpleAccount*, const char*, PurpleConversation*,
                    void* user_data, size_t action_count, va_list actions) {
  Log("request '%s' (%s): taking its first of %zu actions", title ? title : "",
      primary ? primary : "", action_count);
  if (action_count == 0) return nullptr;
  va_arg(actions, const char*);
  auto callback = va_arg(actions, PurpleRequestActionCb);
  if (callback != nullptr) callback(user_data, 0);
  return nullptr;
}

PurpleRequestUiOps request_ops = {};

// Audio from a test tone, to nowhere: no sound device on a CI machine. The
// tone comes in 10 ms buffers, as a microphone's (PulseAudio's default
// latency): audiotestsrc's own 1,024-sample buffers made the encoder's 20 ms
// frames leave in bursts, which is the driver's doing, not libpurple's.
GstElement* CreateSource(PurpleMedia*, const gchar*, const gchar*) {
  GstElement* bin = gst_bin_new(nullptr);
  GstElement* tone = gst_element_factory_make("audiotestsrc", nullptr);
  GstElement* filter = gst_element_factory_make("capsfilter", nullptr);
  g_object_set(tone, "is-live", TRUE, "samplesperbuffer", 480, nullptr);
  GstCaps* caps = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, 48000,
                                      "channels", G_TYPE_INT, 1, nullptr);
  g_object_set(filter, "caps", caps, nullptr);
  gst_caps_unref(caps);
  gst_bin_add_many(GST_BIN(bin), tone, filter, nullptr);
  gst_element_link(tone, filter);
  GstPad* pad = gst_element_get_static_pad(filter, "src");
  gst_element_add_pad(bin, gst_ghost_pad_new("src", pad));
  gst_object_unref(pad);
  return bin;
}

GstElement* CreateSink(PurpleMedia*, const gchar*, const gchar*) {
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  return sink;
}

void RegisterAudioElements() {
  PurpleMediaManager* manager = purple_media_manager_get();
  auto* source = static_cast<PurpleMediaElementInfo*>(g_object_new(
      PURPLE_TYPE_MEDIA_ELEMENT_INFO, "id", "talkchecksrc", "name", "test tone",
      "type",
      PURPLE_MEDIA_ELEMENT_AUDIO | PURPLE_MEDIA_ELEMENT_SRC |
          PURPLE_MEDIA_ELEMENT_ONE_SRC | PURPLE_MEDIA_ELEMENT_UNIQUE,
      "create-cb", CreateSource, nullptr));
  auto* sink = static_cast<PurpleMediaElementInfo*>(
      g_object_new(PURPLE_TYPE_MEDIA_ELEMENT_INFO, "id", "talkchecksink",
                   "name", "discard", "type",
                   PURPLE_MEDIA_ELEMENT_AUDIO | PURPLE_MEDIA_ELEMENT_SINK |
                       PURPLE_MEDIA_ELEMENT_ONE_SINK,
                   "create-cb", CreateSink, nullptr));
  purple_media_manager_register_element(manager, source);
  purple_media_manager_register_element(manager, sink);
  purple_media_manager_set_active_element(manager, source);
  purple_media_manager_set_active_element(manager, sink);
  // Without audio in the UI's capabilities libpurple advertises no voice.
  purple_media_manager_set_ui_caps(manager, PURPLE_MEDIA_CAPS_AUDIO);
}

const char* StateName(PurpleMediaState state) {
  switch (state) {
    case PURPLE_MEDIA_STATE_NEW:
      return "new";
    case PURPLE_MEDIA_STATE_CONNECTED:
      return "connected";
    case PURPLE_MEDIA_STATE_END:
      return "end";
  }
  return "?";
}

void OnStateChanged(PurpleMedia* media, PurpleMediaState state, gchar* sid,
                    gchar* name, gpointer) {
  Log("media state %s (session %s, participant %s)", StateName(state),
      sid ? sid : "-", name ? name : "-");
  if (state == PURPLE_MEDIA_STATE_END && sid == nullptr && name == nullptr) {
    for (auto it = calls.begin(); it != calls.end(); ++it) {
      if (it->media == media) {
        calls.erase(it);
        break;
      }
    }
  }
}

void OnStreamInfo(PurpleMedia*, PurpleMediaInfoType type, gchar* sid,
                  gchar* name, gboolean local, gpointer) {
  Log("stream info %d (session %s, participant %s, %s)", static_cast<int>(type),
      sid ? sid : "-", name ? name : "-", local ? "local" : "remote");
}

gboolean OnInitMedia(PurpleMediaManager*, PurpleMedia* media, PurpleAccount*,
                     gchar* who, gpointer) {
  const bool incoming = !purple_media_is_initiator(media, nullptr, nullptr);
  Log("call %s %s", incoming ? "from" : "to", who ? who : "-");
  calls.push_back(Call{media, who ? who : "", incoming});
  g_signal_connect(media, "state-changed", G_CALLBACK(OnStateChanged), nullptr);
  g_signal_connect(media, "stream-info", G_CALLBACK(OnStreamInfo), nullptr);
  return TRUE;
}

void SignIn(PurpleConnection*, gpointer) { Log("signed on"); }

void SignOff(PurpleConnection*, gpointer) { Log("signed off"); }

void ConnectionError(PurpleConnection*, PurpleConnectionError reason,
                     const char* description, gpointer) {
  Log("connection error %d: %s", static_cast<int>(reason),
      description ? description : "");
}

// talkcheck's control lines: "call JID", and "answer", "reject" or "hangup",
// each with an optional JID that picks the call (a control step's peer=);
// without one, the newest call that rings (answer, reject) or any newest call
// (hangup: a user may hang up a call that still rings, and libpurple's
// google_session_stream_info_cb sends `terminate` for it whatever its state).
void Control(const std::string& line) {
  Log("control: %s", line.c_str());
  const size_t space = line.find(' ');
  const std::string action = line.substr(0, space);
  const std::string target =
      space == std::string::npos ? std::string() : line.substr(space + 1);
  if (action == "call") {
    if (!purple_prpl_initiate_media(account, target.c_str(),
                                    PURPLE_MEDIA_AUDIO)) {
      Log("libpurple refused to call %s", target.c_str());
    }
    return;
  }
  const bool for_ringing = action == "answer" || action == "reject";
  if (!for_ringing && action != "hangup") {
    Log("unknown control line");
    return;
  }
  for (auto it = calls.rbegin(); it != calls.rend(); ++it) {
    if (for_ringing && !it->ringing) continue;
    if (!target.empty() && it->remote != target) continue;
    it->ringing = false;
    const PurpleMediaInfoType type =
        action == "answer"   ? PURPLE_MEDIA_INFO_ACCEPT
        : action == "reject" ? PURPLE_MEDIA_INFO_REJECT
                             : PURPLE_MEDIA_INFO_HANGUP;
    purple_media_stream_info(it->media, type, nullptr, nullptr, TRUE);
    return;
  }
  Log("no %scall for %s", for_ringing ? "ringing " : "", line.c_str());
}

gboolean OnStdin(GIOChannel* channel, GIOCondition condition, gpointer) {
  if (condition & G_IO_IN) {
    gchar* text = nullptr;
    gsize length = 0;
    const GIOStatus status =
        g_io_channel_read_line(channel, &text, &length, nullptr, nullptr);
    if (status == G_IO_STATUS_NORMAL && text != nullptr) {
      std::string line(text, length);
      g_free(text);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
      }
      if (!line.empty()) Control(line);
      return TRUE;
    }
    g_free(text);
    if (status == G_IO_STATUS_AGAIN) return TRUE;
  }
  // talkcheck closed our stdin: the run is over.
  Log("stdin closed");
  g_main_loop_quit(loop);
  return FALSE;
}

// A crash (libpurple's, Farstream's, GStreamer's or ours) leaves the frames
// it died in on stderr, which talkcheck keeps as the client's log
// (--client_log): "killed by SIGSEGV" alone does not say whose fault it was.
// Only async-signal-safe calls; backtrace() is called once at start so that
// its first use does not load libgcc inside the handler. A handler already
// there (AddressSanitizer's, under --config=asan) is left in place.
void OnFatalSignal(int signal_number) {
  constexpr char kHeader[] = "purple_client: fatal signal; frames:\n";
  (void)!write(STDERR_FILENO, kHeader, sizeof(kHeader) - 1);
  void* frames[64];
  const int count = backtrace(frames, 64);
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
  // Die of the same signal, so talkcheck still reports it as such.
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  sigaction(signal_number, &action, nullptr);
  raise(signal_number);
}

void ReportFatalSignals() {
  void* warm_up[1];
  backtrace(warm_up, 1);
  struct sigaction action = {};
  action.sa_handler = OnFatalSignal;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
    struct sigaction current = {};
    if (sigaction(signal_number, nullptr, &current) == 0 &&
        current.sa_handler == SIG_DFL) {
      sigaction(signal_number, &action, nullptr);
    }
  }
}

bool ParseFlags(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](const char* name) -> const char* {
      const std::string prefix = std::string("--") + name + "=";
      return arg.rfind(prefix, 0) == 0 ? argv[i] + prefix.size() : nullptr;
    };
    if (const char* v = value("server")) {
      const std::string server = v;
      const size_t colon = server.rfind(':');
      if (colon == std::string::npos) return false;
      options.host = server.substr(0, colon);
      options.port = std::atoi(server.c_str() + colon + 1);
    } else if (const char* v = value("jid")) {
      options.jid = v;
    } else if (const char* v = value("password")) {
      options.password = v;
    } else if (const char* v = value("tls")) {
      options.tls = v;
    } else {
      return false;
    }
  }
  return !options.jid.empty() && options.port > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseFlags(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: purple_client --server=HOST:PORT --jid=JID "
                 "--password=PASSWORD [--tls=off|optional|required]\n");
    return 2;
  }
  gst_init(nullptr, nullptr);
  loop = g_main_loop_new(nullptr, FALSE);

  // libpurple keeps its accounts and preferences in a directory of its own:
  // a fresh one per run, so nothing of an earlier run (or the user's Pidgin)
  // leaks in.
  char home[] = "/tmp/talkcheck-purple-XXXXXX";
  if (mkdtemp(home) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  purple_util_set_user_dir(home);
  purple_debug_set_enabled(std::getenv("PURPLE_DEBUG") != nullptr);
  purple_eventloop_set_ui_ops(&event_loop_ops);
  request_ops.request_action = RequestAction;
  purple_request_set_ui_ops(&request_ops);
  if (!purple_core_init(kUiId)) {
    Log("libpurple did not initialise");
    return 1;
  }
  ReportFatalSignals();
  purple_set_blist(purple_blist_new());
  purple_blist_load();
  RegisterAudioElements();

  static int handle;
  purple_signal_connect(purple_connections_get_handle(), "signed-on", &handle,
                        PURPLE_CALLBACK(SignIn), nullptr);
  purple_signal_connect(purple_connections_get_handle(), "signed-off", &handle,
                        PURPLE_CALLBACK(SignOff), nullptr);
  purple_signal_connect(purple_connections_get_handle(), "connection-error",
                        &handle, PURPLE_CALLBACK(ConnectionError), nullptr);
  g_signal_connect(purple_media_manager_get(), "init-media",
                   G_CALLBACK(OnInitMedia), nullptr);

  const std::string username = options.jid + "/purple";
  account = purple_account_new(username.c_str(), "prpl-jabber");
  purple_account_set_password(account, options.password.c_str());
  purple_account_set_string(account, "connect_server", options.host.c_str());
  purple_account_set_int(account, "port", options.port);
  const char* security = options.tls == "required" ? "require_tls"
                         : options.tls == "off"    ? "none"
                                                   : "opportunistic_tls";
  purple_account_set_string(account, "connection_security", security);
  purple_account_set_bool(account, "auth_plain_in_clear", TRUE);
  purple_accounts_add(account);
  purple_account_set_enabled(account, kUiId, TRUE);
  PurpleSavedStatus* status =
      purple_savedstatus_new(nullptr, PURPLE_STATUS_AVAILABLE);
  purple_savedstatus_activate(status);

  GIOChannel* input = g_io_channel_unix_new(STDIN_FILENO);
  g_io_add_watch(input, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP), OnStdin,
                 nullptr);
  g_main_loop_run(loop);
  purple_core_quit();
  return 0;
}
