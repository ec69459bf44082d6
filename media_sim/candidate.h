// A Google-style transport candidate (PROTOCOL.md §3.1): one UDP address of one
// channel ("rtp", "rtcp", "video_rtp", "video_rtcp") with its GICE credentials.
#ifndef TALKCHECK_MEDIA_SIM_CANDIDATE_H_
#define TALKCHECK_MEDIA_SIM_CANDIDATE_H_

#include <cstdint>
#include <string>

namespace talkcheck::media_sim {

struct Candidate {
  std::string name = "rtp";  // channel name
  std::string address;       // IP literal
  uint16_t port = 0;
  double preference = 1.0;  // [0, 1]; local 1.0, stun 0.9, relay 0.5
  std::string username;     // the ufrag: <= 16 base64 characters
  std::string
      password;  // 16 base64 characters (GICE does not use it in checks)
  std::string protocol = "udp";
  std::string type = "local";  // local | stun | relay
  std::string network = "0";
  int generation = 0;

  // Same address, port, ufrag and generation: libjingle's IsEquivalent ignores
  // preference and network (PROTOCOL.md §8.1).
  bool IsEquivalent(const Candidate& other) const {
    return name == other.name && address == other.address &&
           port == other.port && username == other.username &&
           protocol == other.protocol && generation == other.generation;
  }
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_CANDIDATE_H_
