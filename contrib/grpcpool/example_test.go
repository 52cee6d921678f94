package grpcpool_test

import (
	"log"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"

	"github.com/zeropool-go/zeropool/contrib/grpcpool"
	"github.com/zeropool-go/zeropool/pool"
)

// One pool for the process, given to a server and to a client connection: the buffers gRPC
// reads messages into then live outside the Go heap and are reused from one RPC to the next.
func Example() {
	p := pool.New()
	defer p.Close() // after the server and the connection are gone

	bp := grpcpool.New(p)
	srv := grpc.NewServer(experimental.BufferPool(bp))
	defer srv.Stop()

	conn, err := grpc.NewClient("127.0.0.1:50051",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		experimental.WithBufferPool(bp))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	// ... register services on srv, serve, make calls on conn ...
}
