#include "reference_client/voice_client.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reference_client/voice_client_test_fixture.h"

namespace talkcheck::reference_client::voice_test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Test that an incoming G1 call with the 2005 offer is acked, gets candidates
// before the accept, and is accepted with the supported subset in offer order.
TEST_F(VoiceClientTest, IncomingG1CallWith2005Offer) {
  StartClient(Options());
  const std::string initiate = PeerSends("initiate", {Offer2005()});
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  const int ack = WaitForResult(initiate);
  const int candidates = WaitForSession("candidates");
  ASSERT_GE(ack, 0);
  ASSERT_GE(candidates, 0);
  EXPECT_LT(ack, candidates);
  EXPECT_LT(candidates, accept);
  EXPECT_EQ(CountSession("transport-accept"), 0);
  EXPECT_EQ(CountSession("transport-info"), 0);

  const Element& result = inbox_[ack];
  EXPECT_EQ(result.AttrOr("from", ""), kCutJid);
  EXPECT_TRUE(result.Children().empty());

  const Element* session = SessionOf(inbox_[candidates]);
  EXPECT_EQ(session->AttrOr("id", ""), kSid);
  EXPECT_EQ(session->AttrOr("initiator", ""), kPeerJid);
  std::vector<const Element*> cands = CandidatesIn(inbox_[candidates]);
  ASSERT_EQ(cands.size(), 1u);
  const Element& c = *cands[0];
  EXPECT_EQ(c.ns(), ns::kGoogleSession);
  EXPECT_EQ(c.AttrOr("name", ""), "rtp");
  EXPECT_EQ(c.AttrOr("address", ""), "127.0.0.1");
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(c.AttrOr("port", ""), &port) && port > 0);
  EXPECT_EQ(c.AttrOr("preference", ""), "1");
  EXPECT_EQ(c.AttrOr("username", "").size(), 16u);
  EXPECT_EQ(c.AttrOr("password", "").size(), 16u);
  EXPECT_EQ(c.AttrOr("protocol", ""), "udp");
  EXPECT_EQ(c.AttrOr("generation", ""), "0");
  EXPECT_EQ(c.AttrOr("type", ""), "local");
  EXPECT_EQ(c.AttrOr("network", ""), "0");

  const Element* accept_session = SessionOf(inbox_[accept]);
  EXPECT_EQ(accept_session->AttrOr("id", ""), kSid);
  EXPECT_EQ(accept_session->AttrOr("initiator", ""), kPeerJid);
  const Element* description =
      accept_session->FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(description, nullptr);
  EXPECT_THAT(PayloadTypes(*description),
              ElementsAre("103 ISAC", "102 iLBC", "0 PCMU", "8 PCMA", "13 CN"));
  EXPECT_THAT(EventTypes(), ElementsAre(Type::kIncoming, Type::kAccepted));
  EXPECT_TRUE(voice_->in_call());
}

// Test that `initiator` is echoed byte for byte, even when not normalised.
TEST_F(VoiceClientTest, EchoesInitiatorByteForByte) {
  StartClient(Options());
  constexpr char kOddInitiator[] = "Peer@LocalHost/Talk.v104";
  PeerSends("initiate", {Offer2005()}, kSid, kOddInitiator);
  ASSERT_GE(WaitForSession("accept"), 0);
  for (const char* type : {"candidates", "accept"}) {
    const int i = WaitForSession(type);
    ASSERT_GE(i, 0);
    EXPECT_EQ(SessionOf(inbox_[i])->AttrOr("initiator", ""), kOddInitiator);
  }
}

// Test that with no codec in common the client rejects, before acking.
TEST_F(VoiceClientTest, RejectsBeforeAckWithoutCommonCodec) {
  StartClient(Options());
  Element description(ns::kGooglePhone, "description");
  description.AddChild(ns::kGooglePhone, "payload-type")
      .SetAttr("id", "4")
      .SetAttr("name", "G723");
  description.AddChild(ns::kGooglePhone, "payload-type")
      .SetAttr("id", "97")
      .SetAttr("name", "IPCMWB");
  const std::string initiate = PeerSends("initiate", {description});
  const int ack = WaitForResult(initiate);
  const int reject = WaitForSession("reject");
  ASSERT_GE(ack, 0);
  ASSERT_GE(reject, 0);
  EXPECT_LT(reject, ack);
  EXPECT_TRUE(SessionOf(inbox_[reject])->Children().empty());
  EXPECT_EQ(SessionOf(inbox_[reject])->AttrOr("initiator", ""), kPeerJid);
  Sync();
  EXPECT_EQ(CountSession("candidates"), 0);
  EXPECT_EQ(CountSession("accept"), 0);
  EXPECT_THAT(EventTypes(), ElementsAre(Type::kIncoming, Type::kRejected));
  EXPECT_FALSE(voice_->in_call());
}

// Test that a G2 initiate gets transport-accept at once and transport-info
// candidates, and that no-transport-accept drops the former.
TEST_F(VoiceClientTest, IncomingG2Call) {
  StartClient(Options());
  const std::string initiate = PeerSends(
      "initiate", {Offer2005(), Element(ns::kGoogleP2p, "transport")});
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  const int ack = WaitForResult(initiate);
  const int transport_accept = WaitForSession("transport-accept");
  const int info = WaitForSession("transport-info");
  ASSERT_GE(transport_accept, 0);
  ASSERT_GE(info, 0);
  EXPECT_LT(ack, transport_accept);
  EXPECT_LT(transport_accept, info);
  EXPECT_LT(info, accept);
  EXPECT_EQ(CountSession("candidates"), 0);

  const Element* ta = SessionOf(inbox_[transport_accept]);
  ASSERT_EQ(ta->Children().size(), 1u);
  EXPECT_TRUE(ta->Children()[0]->Is(ns::kGoogleP2p, "transport"));
  EXPECT_TRUE(ta->Children()[0]->Children().empty());
  std::vector<const Element*> cands = CandidatesIn(inbox_[info]);
  ASSERT_EQ(cands.size(), 1u);
  EXPECT_EQ(cands[0]->ns(), ns::kGoogleP2p);
  EXPECT_EQ(cands[0]->AttrOr("generation", ""), "0");
  // libjingle's accept carries only the description.
  EXPECT_EQ(SessionOf(inbox_[accept])->FindChild(ns::kGoogleP2p, "transport"),
            nullptr);

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kNoTransportAccept}));
  PeerSends("initiate", {Offer2005(), Element(ns::kGoogleP2p, "transport")},
            "43");
  ASSERT_GE(WaitForSession("accept"), 0);
  EXPECT_EQ(CountSession("transport-accept"), 0);
  EXPECT_EQ(CountSession("transport-info"), 1);
}

// Test that an empty description stands for ISAC/16000 and PCMU/8000.
TEST_F(VoiceClientTest, EmptyDescriptionMeansIsacAndPcmu) {
  StartClient(Options());
  PeerSends("initiate", {Element(ns::kGooglePhone, "description")});
  const int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  const Element* description =
      SessionOf(inbox_[accept])->FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(description, nullptr);
  EXPECT_THAT(PayloadTypes(*description),
              ElementsAre("103 ISAC 16000", "0 PCMU 8000"));
}

// Test that with auto-answer off the call rings until Answer() or Reject().
TEST_F(VoiceClientTest, AnswerAndRejectByHand) {
  VoiceClientOptions options = Options();
  options.auto_answer_after = absl::InfiniteDuration();
  StartClient(options);
  PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("candidates"), 0);
  RunFor(absl::Milliseconds(100));
  EXPECT_EQ(CountSession("accept"), 0);
  EXPECT_TRUE(voice_->Answer().ok());
  EXPECT_GE(WaitForSession("accept"), 0);
  EXPECT_FALSE(voice_->Answer().ok());

  PeerSends("initiate", {Offer2005()}, "44");
  ASSERT_TRUE(RunUntil([&] { return events_.size() == 3; }));
  EXPECT_TRUE(voice_->Reject().ok());
  const int reject = WaitForSession("reject");
  ASSERT_GE(reject, 0);
  EXPECT_EQ(SessionOf(inbox_[reject])->AttrOr("id", ""), "44");
}

// Test an outgoing G1 call: initiate with our codecs, candidates at once,
// ringing on the ack, accepted, and terminated by the peer (acked).
TEST_F(VoiceClientTest, OutgoingCallAcceptedAndTerminated) {
  StartClient(Options());
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  const int initiate = WaitForSession("initiate");
  ASSERT_GE(initiate, 0);
  const Element* session = SessionOf(inbox_[initiate]);
  const std::string sid = session->AttrOr("id", "");
  uint32_t numeric = 0;
  EXPECT_TRUE(absl::SimpleAtoi(sid, &numeric)) << sid;
  EXPECT_EQ(session->AttrOr("initiator", ""), kCutJid);
  EXPECT_EQ(session->FindChild(ns::kGoogleP2p, "transport"), nullptr);
  const Element* description =
      session->FindChild(ns::kGooglePhone, "description");
  ASSERT_NE(description, nullptr);
  EXPECT_THAT(PayloadTypes(*description),
              ElementsAre("103 ISAC 16000", "102 iLBC 8000", "0 PCMU 8000",
                          "8 PCMA 8000", "13 CN 8000"));
  ASSERT_GE(WaitForSession("candidates"), 0);
  ASSERT_TRUE(RunUntil([&] { return events_.size() == 1; }));
  EXPECT_EQ(events_[0].type, Type::kRinging);

  Element accept(ns::kGooglePhone, "description");
  accept.AddChild(ns::kGooglePhone, "payload-type")
      .SetAttr("id", "103")
      .SetAttr("name", "ISAC");
  const std::string accept_id = PeerSends("accept", {accept}, sid, kCutJid);
  ASSERT_GE(WaitForResult(accept_id), 0);
  ASSERT_TRUE(RunUntil([&] { return events_.size() == 2; }));
  EXPECT_EQ(events_[1].type, Type::kAccepted);

  const std::string terminate = PeerSends("terminate", {}, sid, kCutJid);
  ASSERT_GE(WaitForResult(terminate), 0);
  ASSERT_TRUE(RunUntil([&] { return events_.size() == 3; }));
  EXPECT_EQ(events_[2].type, Type::kTerminated);
  EXPECT_FALSE(voice_->in_call());
}

// Test that a rejected outgoing call is over, and Hangup() sends an empty
// terminate.
TEST_F(VoiceClientTest, OutgoingRejectAndHangup) {
  StartClient(Options());
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  int initiate = WaitForSession("initiate");
  ASSERT_GE(initiate, 0);
  std::string sid = SessionOf(inbox_[initiate])->AttrOr("id", "");
  const std::string reject = PeerSends("reject", {}, sid, kCutJid);
  ASSERT_GE(WaitForResult(reject), 0);
  ASSERT_TRUE(RunUntil([&] { return !voice_->in_call(); }));
  EXPECT_EQ(events_.back().type, Type::kRejected);

  inbox_.clear();
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  initiate = WaitForSession("initiate");
  ASSERT_GE(initiate, 0);
  sid = SessionOf(inbox_[initiate])->AttrOr("id", "");
  ASSERT_TRUE(voice_->Hangup().ok());
  const int terminate = WaitForSession("terminate");
  ASSERT_GE(terminate, 0);
  EXPECT_EQ(SessionOf(inbox_[terminate])->AttrOr("id", ""), sid);
  EXPECT_TRUE(SessionOf(inbox_[terminate])->Children().empty());
  EXPECT_FALSE(voice_->in_call());
  EXPECT_EQ(events_.back().type, Type::kTerminated);
  EXPECT_FALSE(voice_->Hangup().ok());
}

// Test that a G2 caller sends transport-info until a G1 peer's `candidates`
// arrive, then re-sends its candidates as `candidates`; no-fallback-to-g1 does
// not.
TEST_F(VoiceClientTest, G2CallerFallsBackToG1) {
  VoiceClientOptions options = Options();
  options.dialect = VoiceClientOptions::Dialect::kG2;
  StartClient(options);
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  const int initiate = WaitForSession("initiate");
  ASSERT_GE(initiate, 0);
  const Element* session = SessionOf(inbox_[initiate]);
  ASSERT_NE(session->FindChild(ns::kGoogleP2p, "transport"), nullptr);
  const std::string sid = session->AttrOr("id", "");
  const int info = WaitForSession("transport-info");
  ASSERT_GE(info, 0);
  const std::string ufrag =
      CandidatesIn(inbox_[info])[0]->AttrOr("username", "");

  const std::string id = PeerSends(
      "candidates", {PeerCandidate(ns::kGoogleSession)}, sid, kCutJid);
  ASSERT_GE(WaitForResult(id), 0);
  const int resent = WaitForSession("candidates");
  ASSERT_GE(resent, 0);
  std::vector<const Element*> cands = CandidatesIn(inbox_[resent]);
  ASSERT_EQ(cands.size(), 1u);
  EXPECT_EQ(cands[0]->ns(), ns::kGoogleSession);
  EXPECT_EQ(cands[0]->AttrOr("username", ""), ufrag);

  ASSERT_TRUE(voice_->Hangup().ok());
  inbox_.clear();
  options.faults = {Fault::kNoFallbackToG1};
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(options);
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  const int second = WaitForSession("initiate");
  ASSERT_GE(second, 0);
  const std::string sid2 = SessionOf(inbox_[second])->AttrOr("id", "");
  PeerSends("candidates", {PeerCandidate(ns::kGoogleSession)}, sid2, kCutJid);
  Sync();
  EXPECT_EQ(CountSession("candidates"), 0);
}

// Test that a G2 callee does not fall back to G1 (LJ04: ChooseTransport set
// the transport with the initiate, so Session::OnCandidatesMessage takes the
// candidates and compatibility mode stays off): `candidates` from the caller
// are acked, and the callee's candidates go on as transport-info.
TEST_F(VoiceClientTest, G2CalleeKeepsTransportInfo) {
  StartClient(Options());
  PeerSends("initiate", {Offer2005(), Element(ns::kGoogleP2p, "transport")});
  const int info = WaitForSession("transport-info");
  ASSERT_GE(info, 0);
  const std::string id =
      PeerSends("candidates", {PeerCandidate(ns::kGoogleSession)});
  ASSERT_GE(WaitForResult(id), 0);
  Sync();
  EXPECT_EQ(CountSession("candidates"), 0);
}

// Test that a redirect is acked and the initiate, with the cookie, goes to the
// target, which can then accept (LJ04 Session::OnRedirectMessage).
TEST_F(VoiceClientTest, RedirectReinitiatesToTarget) {
  constexpr char kVoicemail[] = "peer@localhost/Talk.voicemail";
  std::vector<Element> at_voicemail;
  auto voicemail = server_->AttachVirtualSession(
      J(kVoicemail), [&](const Element& s) { at_voicemail.push_back(s); });
  ASSERT_TRUE(voicemail.ok());
  StartClient(Options());
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  const int initiate = WaitForSession("initiate");
  ASSERT_GE(initiate, 0);
  const std::string sid = SessionOf(inbox_[initiate])->AttrOr("id", "");

  Element target(ns::kGoogleSession, "target");
  target.SetAttr("name", kVoicemail);
  Element cookie(ns::kGoogleSession, "cookie");
  cookie.AddChild(ns::kGoogleSession, "regarding")
      .SetAttr("name", "peer@localhost");
  const std::string redirect =
      PeerSends("redirect", {target, cookie}, sid, kCutJid);
  ASSERT_GE(WaitForResult(redirect), 0);
  ASSERT_TRUE(RunUntil([&] {
    int initiates = 0;
    int candidates = 0;
    for (const Element& s : at_voicemail) {
      initiates += SessionType(s) == "initiate" ? 1 : 0;
      candidates += SessionType(s) == "candidates" ? 1 : 0;
    }
    return initiates == 1 && candidates == 1;
  }));
  const Element* reinitiate = SessionOf(at_voicemail[0]);
  EXPECT_EQ(reinitiate->AttrOr("type", ""), "initiate");
  EXPECT_EQ(reinitiate->AttrOr("id", ""), sid);
  EXPECT_EQ(reinitiate->AttrOr("initiator", ""), kCutJid);
  EXPECT_NE(reinitiate->FindChild(ns::kGooglePhone, "description"), nullptr);
  const Element* copied = reinitiate->FindChild(ns::kGoogleSession, "cookie");
  ASSERT_NE(copied, nullptr);
  EXPECT_NE(copied->FindChild(ns::kGoogleSession, "regarding"), nullptr);

  Element ack = IqResult(at_voicemail[0]);
  (*voicemail)->Send(ack);
  Element accept = SessionIq(kCutJid, "accept", sid, kCutJid,
                             {Element(ns::kGooglePhone, "description")});
  accept.SetAttr("id", "vm1");
  (*voicemail)->Send(accept);
  ASSERT_TRUE(RunUntil([&] {
    return !events_.empty() && events_.back().type == Type::kAccepted;
  }));
  EXPECT_TRUE(voice_->in_call());
}

// Test that an unanswered session iq ends the call after iq_timeout with an
// empty terminate, unless no-terminate-on-timeout.
TEST_F(VoiceClientTest, IqTimeoutTerminates) {
  peer_acks_ = false;
  VoiceClientOptions options = Options();
  options.iq_timeout = absl::Milliseconds(200);
  StartClient(options);
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  ASSERT_GE(WaitForSession("terminate", absl::Seconds(3)), 0);
  EXPECT_EQ(events_.back().type, Type::kTerminated);
  EXPECT_THAT(events_.back().reason, HasSubstr("no reply to initiate"));

  inbox_.clear();
  options.faults = {Fault::kNoTerminateOnTimeout};
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(options);
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  RunFor(absl::Milliseconds(600));
  EXPECT_EQ(CountSession("terminate"), 0);
  EXPECT_TRUE(voice_->in_call());
}

// Test that an error reply to the accept ends the call, but a "wait" error does
// not.
TEST_F(VoiceClientTest, ErrorReplyTerminates) {
  peer_acks_ = false;
  StartClient(Options());
  PeerSends("initiate", {Offer2005()});
  int accept = WaitForSession("accept");
  ASSERT_GE(accept, 0);
  peer_->Send(IqError(inbox_[accept], "wait", "resource-constraint", ""));
  RunFor(absl::Milliseconds(200));
  EXPECT_EQ(CountSession("terminate"), 0);

  PeerSends("initiate", {Offer2005()}, "45");
  accept = WaitFor([](const Element& s) {
    return SessionType(s) == "accept" && SessionOf(s)->AttrOr("id", "") == "45";
  });
  ASSERT_GE(accept, 0);
  peer_->Send(IqError(inbox_[accept], "cancel", "item-not-found", ""));
  const int terminate = WaitForSession("terminate");
  ASSERT_GE(terminate, 0);
  EXPECT_EQ(SessionOf(inbox_[terminate])->AttrOr("id", ""), "45");
}

// Test that an unanswered outgoing call ends at the ring timeout.
TEST_F(VoiceClientTest, RingTimeoutTerminates) {
  VoiceClientOptions options = Options();
  options.ring_timeout = absl::Milliseconds(300);
  StartClient(options);
  ASSERT_TRUE(voice_->Call(J(kPeerJid)).ok());
  ASSERT_GE(WaitForSession("terminate", absl::Seconds(3)), 0);
  EXPECT_THAT(events_.back().reason, HasSubstr("ring timeout"));
}

// Test that while not writable a new candidate generation goes out every period
// with a fresh ufrag, and that the call ends at the writability deadline.
TEST_F(VoiceClientTest, NewGenerationsUntilWritableTimeout) {
  VoiceClientOptions options = Options();
  options.auto_answer_after = absl::InfiniteDuration();
  options.generation_period = absl::Milliseconds(150);
  options.writable_timeout = absl::Milliseconds(500);
  StartClient(options);
  PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("terminate", absl::Seconds(3)), 0);
  EXPECT_THAT(events_.back().reason, HasSubstr("not writable"));
  std::vector<std::string> generations;
  std::vector<std::string> ufrags;
  for (const Element& s : inbox_) {
    if (SessionType(s) != "candidates") continue;
    for (const Element* c : CandidatesIn(s)) {
      generations.push_back(c->AttrOr("generation", ""));
      ufrags.push_back(c->AttrOr("username", ""));
    }
  }
  ASSERT_GE(generations.size(), 3u);
  for (size_t i = 0; i < generations.size(); ++i) {
    EXPECT_EQ(generations[i], absl::StrCat(i));
    if (i > 0) {
      EXPECT_NE(ufrags[i], ufrags[0]);
    }
  }
}

// Test that messages about unknown sessions get libjingle's bad-request
// "unknown session" with the session copied, unless ignore-unknown-session.
TEST_F(VoiceClientTest, UnknownSession) {
  StartClient(Options());
  const std::string id =
      PeerSends("candidates", {PeerCandidate(ns::kGoogleSession)}, "999");
  const int error = WaitFor([&](const Element& s) {
    return s.AttrOr("type", "") == "error" && s.AttrOr("id", "") == id;
  });
  ASSERT_GE(error, 0);
  const Element& reply = inbox_[error];
  ASSERT_NE(SessionOf(reply), nullptr);
  EXPECT_EQ(SessionOf(reply)->AttrOr("id", ""), "999");
  const Element* e = reply.FindChild(ns::kClient, "error");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->AttrOr("type", ""), "modify");
  EXPECT_NE(e->FindChild(ns::kStanzas, "bad-request"), nullptr);
  ASSERT_NE(e->FindChild(ns::kStanzas, "text"), nullptr);
  EXPECT_EQ(e->FindChild(ns::kStanzas, "text")->Text(), "unknown session");

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kIgnoreUnknownSession}));
  const std::string ignored =
      PeerSends("candidates", {PeerCandidate(ns::kGoogleSession)}, "999");
  Sync();
  for (const Element& s : inbox_) EXPECT_NE(s.AttrOr("id", ""), ignored);
}

// Test that a bad or foreign-channel candidate gets LJ04's errors.
TEST_F(VoiceClientTest, BadCandidates) {
  VoiceClientOptions options = Options();
  options.auto_answer_after = absl::InfiniteDuration();
  StartClient(options);
  PeerSends("initiate", {Offer2005()});
  ASSERT_GE(WaitForSession("candidates"), 0);
  Element rtcp = PeerCandidate(ns::kGoogleSession);
  rtcp.SetAttr("name", "rtcp");
  const std::string id = PeerSends("candidates", {rtcp});
  const int error = WaitFor([&](const Element& s) {
    return s.AttrOr("type", "") == "error" && s.AttrOr("id", "") == id;
  });
  ASSERT_GE(error, 0);
  const Element* e = inbox_[error].FindChild(ns::kClient, "error");
  ASSERT_NE(e, nullptr);
  const Element* unknown = e->FindChild(ns::kGoogleP2p, "unknown-channel-name");
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->AttrOr("name", ""), "rtcp");

  Element no_port = PeerCandidate(ns::kGoogleSession);
  no_port.RemoveAttr("port");
  const std::string id2 = PeerSends("candidates", {no_port});
  const int error2 = WaitFor([&](const Element& s) {
    return s.AttrOr("type", "") == "error" && s.AttrOr("id", "") == id2;
  });
  ASSERT_GE(error2, 0);
  EXPECT_EQ(inbox_[error2]
                .FindChild(ns::kClient, "error")
                ->FindChild(ns::kStanzas, "text")
                ->Text(),
            "candidate missing required attribute");
}

// Test the presence caps and the disco answers, and the faults that drop them.
TEST_F(VoiceClientTest, CapsAndDisco) {
  StartClient(Options());
  const int presence = WaitFor([](const Element& s) {
    return s.name() == "presence" && s.AttrOr("from", "") == kCutJid;
  });
  ASSERT_GE(presence, 0);
  const Element* caps = inbox_[presence].FindChild(ns::kCaps, "c");
  ASSERT_NE(caps, nullptr);
  EXPECT_EQ(caps->AttrOr("node", ""), ns::kGoogleCapsNode);
  EXPECT_EQ(caps->AttrOr("ver", ""), "1.0.0.104");
  EXPECT_EQ(caps->AttrOr("ext", ""), "voice-v1");

  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "get").SetAttr("id", "d1").SetAttr("to", kCutJid);
  iq.AddChild(ns::kDiscoInfo, "query").SetAttr("node", kVoiceNode);
  peer_->Send(iq);
  const int reply = WaitForResult("d1");
  ASSERT_GE(reply, 0);
  const Element* query = inbox_[reply].FindChild(ns::kDiscoInfo, "query");
  ASSERT_NE(query, nullptr);
  EXPECT_EQ(query->AttrOr("node", ""), kVoiceNode);
  ASSERT_EQ(query->FindChildren(ns::kDiscoInfo, "feature").size(), 1u);
  EXPECT_EQ(query->FindChild(ns::kDiscoInfo, "feature")->AttrOr("var", ""),
            ns::kGoogleVoiceV1);

  // Other iqs: service-unavailable.
  Element version(ns::kClient, "iq");
  version.SetAttr("type", "get").SetAttr("id", "v1").SetAttr("to", kCutJid);
  version.AddChild("jabber:iq:version", "query");
  peer_->Send(version);
  const int error = WaitFor([](const Element& s) {
    return s.AttrOr("id", "") == "v1" && s.AttrOr("type", "") == "error";
  });
  ASSERT_GE(error, 0);
  EXPECT_NE(inbox_[error]
                .FindChild(ns::kClient, "error")
                ->FindChild(ns::kStanzas, "service-unavailable"),
            nullptr);

  inbox_.clear();
  voice_.reset();
  stream_.reset();
  RunFor(absl::Milliseconds(100));
  StartClient(Options({Fault::kNoCaps, Fault::kNoDiscoAnswer}));
  const int bare = WaitFor([](const Element& s) {
    return s.name() == "presence" && s.AttrOr("from", "") == kCutJid &&
           s.AttrOr("type", "") != "unavailable";
  });
  ASSERT_GE(bare, 0);
  EXPECT_EQ(inbox_[bare].FindChild(ns::kCaps, "c"), nullptr);
  iq.SetAttr("id", "d2");
  peer_->Send(iq);
  Sync();
  for (const Element& s : inbox_) EXPECT_NE(s.AttrOr("id", ""), "d2");
}

}  // namespace
}  // namespace talkcheck::reference_client::voice_test
