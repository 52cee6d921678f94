package pool_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/zeropool-go/zeropool/pool"
)

// A Buffer reads a file straight into pooled memory (ReadFrom) and writes it out from there
// (WriteTo): however big the file, the Go heap holds none of it. Release puts the memory back
// for the next Buffer or Get.
func ExampleBuffer_ReadFrom() {
	p := pool.New()
	defer p.Close()

	f, err := os.CreateTemp("", "zeropool-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString("line one\nline two\n"); err != nil {
		log.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}

	b := p.NewBuffer(4 << 10)
	n, err := b.ReadFrom(f) // the file's bytes land in the pool's memory, no copy
	if err != nil {
		log.Fatal(err)
	}
	_, _, notPool := p.RegionOf(b.Bytes())
	fmt.Println(n, "bytes read, in pool memory:", notPool == nil)

	if _, err := b.WriteTo(os.Stdout); err != nil { // written from the pool's memory
		log.Fatal(err)
	}
	if err := b.Release(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("buffers out:", p.Stats().InUse)
	// Output:
	// 18 bytes read, in pool memory: true
	// line one
	// line two
	// buffers out: 0
}

// A Buffer on both ends of a TCP connection (loopback): the server reads the whole request
// into pooled memory, answers from a second Buffer, and the client reads the answer the same
// way. Growth past the first capacity takes a bigger buffer of the pool, never the heap.
func ExampleBuffer_WriteTo() {
	p := pool.New()
	defer p.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() { done <- serveOne(p, ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	req := p.NewBuffer(1 << 10)
	for range 1000 {
		req.WriteString("hello") // 5000 bytes: grows past 1 KiB, inside the pool
	}
	if _, err := req.WriteTo(conn); err != nil {
		log.Fatal(err)
	}
	if err := req.Release(); err != nil {
		log.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		log.Fatal(err)
	}
	resp := p.NewBuffer(1 << 10)
	if _, err := resp.ReadFrom(conn); err != nil {
		log.Fatal(err)
	}
	if err := <-done; err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.String())
	if err := resp.Release(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("buffers out:", p.Stats().InUse)
	// Output:
	// got 5000 bytes: HELLO
	// buffers out: 0
}

// serveOne answers one connection of ExampleBuffer_WriteTo: it reads the whole request into
// a Buffer, then writes the answer from another.
func serveOne(p *pool.BufferPool, ln net.Listener) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	req := p.NewBuffer(1 << 10)
	defer req.Release()
	if _, err := req.ReadFrom(conn); err != nil { // until the client closes its side
		return err
	}
	resp := p.NewBuffer(1 << 10)
	defer resp.Release()
	fmt.Fprintf(resp, "got %d bytes: ", req.Len())
	if _, err := resp.Write(bytes.ToUpper(req.Bytes()[:5])); err != nil {
		return err
	}
	_, err = resp.WriteTo(conn) // straight from the pool's memory to the socket
	return err
}

// An upload handler reads the request body into pooled storage of ContentLength bytes, got
// once: no growth, no copy, nothing on the Go heap. A length the pool cannot serve is an
// error to answer with, not a panic.
func ExampleBufferPool_NewBufferFor() {
	p := pool.New()
	defer p.Close()
	const maxUpload = 64 << 20

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxUpload {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		b, err := p.NewBufferFor(r.ContentLength) // -1 (unknown): the Buffer grows as it reads
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		defer b.Release()
		if _, err := b.ReadFrom(http.MaxBytesReader(w, r.Body, maxUpload)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d bytes, %d Get", b.Len(), p.Stats().Gets)
	}))
	defer srv.Close()

	resp, err := http.Post(srv.URL, "application/octet-stream", bytes.NewReader(make([]byte, 1<<20)))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(answer))
	// Output:
	// 1048576 bytes, 1 Get
}
