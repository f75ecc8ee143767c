package runner

import (
	"encoding/json"

	"github.com/golocust/golocust/proto/locustpb"
)

// This file is the one place where the runner's control messages meet the
// wire. Since protocol 1.1 each is its own case of the proto oneof
// (StopTest, Leaving, Logs, Numbering); a 1.0 peer knows them only as
// Custom messages of reserved "golocust." types with JSON payloads, so a
// node sends such a peer the old form (locustpb.TypedControl says which)
// and accepts both forms from anyone. The Custom channel otherwise carries
// users' messages only.

// Reserved Custom types of protocol 1.0. Custom types starting with
// "golocust." are refused to users (RegisterHandler, Send).
const (
	legacySeqType      = "golocust.seq"      // master → worker: seqInfo as JSON
	legacyStopTestType = "golocust.stoptest" // worker → master: the reason as text
	legacyLeavingType  = "golocust.leaving"  // worker → master: no payload
	legacyLogsType     = "golocust.logs"     // worker → master: a JSON array of strings
	reservedPrefix     = "golocust."
)

// seqInfo is how a worker numbers its users (Env.Seq) in a test; the
// user a worker adds as its k-th of a class is Base + Pos[class] + k*Stride.
type seqInfo struct {
	Base   int64          `json:"base"`
	Stride int            `json:"stride"`
	Pos    map[string]int `json:"pos"`
}

// numberingMessage encodes si for a worker of protocol version peer.
func numberingMessage(si seqInfo, peer string) *locustpb.MasterMessage {
	if !locustpb.TypedControl(peer) {
		b, _ := json.Marshal(si)
		return &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Custom{Custom: &locustpb.Custom{Type: legacySeqType, Data: b}}}
	}
	pos := make(map[string]int32, len(si.Pos))
	for c, p := range si.Pos {
		pos[c] = int32(p)
	}
	return &locustpb.MasterMessage{Kind: &locustpb.MasterMessage_Numbering{Numbering: &locustpb.Numbering{
		Base: si.Base, Stride: int32(si.Stride), Positions: pos}}}
}

// numberingOf decodes a numbering message of either form; false when m is
// not one, or a bad one.
func numberingOf(m *locustpb.MasterMessage) (si seqInfo, isNumbering, ok bool) {
	switch k := m.GetKind().(type) {
	case *locustpb.MasterMessage_Numbering:
		n := k.Numbering
		si = seqInfo{Base: n.GetBase(), Stride: int(n.GetStride()), Pos: make(map[string]int, len(n.GetPositions()))}
		for c, p := range n.GetPositions() {
			si.Pos[c] = int(p)
		}
		return si, true, si.Stride >= 1
	case *locustpb.MasterMessage_Custom:
		if k.Custom.GetType() != legacySeqType {
			return seqInfo{}, false, false
		}
		err := json.Unmarshal(k.Custom.GetData(), &si)
		return si, true, err == nil && si.Stride >= 1
	}
	return seqInfo{}, false, false
}

// Worker → master control messages, for a master of protocol version peer.

func stopTestMessage(reason, peer string) *locustpb.WorkerMessage {
	if !locustpb.TypedControl(peer) {
		return legacyWorkerCustom(legacyStopTestType, []byte(reason))
	}
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_StopTest{StopTest: &locustpb.StopTest{Reason: reason}}}
}

func leavingMessage(peer string) *locustpb.WorkerMessage {
	if !locustpb.TypedControl(peer) {
		return legacyWorkerCustom(legacyLeavingType, nil)
	}
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Leaving{Leaving: &locustpb.Leaving{}}}
}

func logsMessage(lines []string, peer string) *locustpb.WorkerMessage {
	if !locustpb.TypedControl(peer) {
		b, err := json.Marshal(lines)
		if err != nil {
			return nil
		}
		return legacyWorkerCustom(legacyLogsType, b)
	}
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Logs{Logs: &locustpb.Logs{Lines: lines}}}
}

func legacyWorkerCustom(typ string, data []byte) *locustpb.WorkerMessage {
	return &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Custom{Custom: &locustpb.Custom{Type: typ, Data: data}}}
}

// workerControl is a worker's control message in its typed form, whichever
// form it came in: exactly one field is set, or none for a user's message.
type workerControl struct {
	stopTest *locustpb.StopTest
	leaving  bool
	logs     []string
	badLogs  error // a 1.0 logs payload that did not decode
}

// controlOf reads a 1.0 worker's reserved Custom message as its typed
// form; ok is false for a user's message.
func controlOf(c *locustpb.Custom) (wc workerControl, ok bool) {
	switch c.GetType() {
	case legacyStopTestType:
		return workerControl{stopTest: &locustpb.StopTest{Reason: string(c.GetData())}}, true
	case legacyLeavingType:
		return workerControl{leaving: true}, true
	case legacyLogsType:
		var lines []string
		err := json.Unmarshal(c.GetData(), &lines)
		return workerControl{logs: lines, badLogs: err}, true
	}
	return workerControl{}, false
}
