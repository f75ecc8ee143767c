package locustpb_test

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/golocust/golocust/proto/locustpb"
)

// A worker's first message, as it goes on the wire and as the master checks it.
func Example() {
	hello := &locustpb.WorkerMessage{Kind: &locustpb.WorkerMessage_Hello{Hello: &locustpb.Hello{
		WorkerId: "box1_4f2a", Version: locustpb.Version, Hostname: "box1", Pid: 4242, CpuCount: 8,
	}}}
	b, _ := proto.Marshal(hello)

	var got locustpb.WorkerMessage
	_ = proto.Unmarshal(b, &got)
	fmt.Println(locustpb.ValidateWorkerMessage(&got, locustpb.Limits{}) == nil, got.GetHello().GetWorkerId())
	fmt.Println(locustpb.CheckVersion(locustpb.Version, "2.0.0"))
	// Output:
	// true box1_4f2a
	// incompatible protocol version: this node speaks 1.1.0, the peer speaks 2.0.0; run the same golocust major version on master and workers
}
