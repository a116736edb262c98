// synod_load: the synod side of the side-by-side benchmark (load_main.h).
// With --peer it drives a peer through the client service from this
// (non-peer) process; otherwise this process embeds one of the ensemble's
// peers (--listen, --seeds, --data-dir) and drives its Coordinator.

#include "load_main.h"
#include "remote_backend.h"
#include "synod_backend.h"

int main(int argc, char** argv) {
  return synod::bench::LoadMain(
      argc, argv,
      {"peer", "remote-session-timeout-ms", "listen", "seeds", "data-dir",
       "session-timeout-ms"},
      [](const synod::bench::Flags& flags) {
        return flags.count("peer") ? synod::bench::MakeRemoteBackend(flags)
                                   : synod::bench::MakeEmbeddedBackend(flags);
      });
}
