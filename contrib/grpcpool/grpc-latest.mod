module github.com/zeropool-go/zeropool/contrib/grpcpool

go 1.26.0

// This file is go.mod with the newest grpc this module was tested with; go.mod requires the
// oldest that its doc promises (the module's minimum). make test runs the suite against both:
// go test -modfile=grpc-latest.mod ./... (go.sum's twin is grpc-latest.sum).

// A program that requires this module gets github.com/zeropool-go/zeropool at the version
// required below (or a later one that the program asks for) from the module proxy: Go
// ignores the replace directives of every module but the one being built. The replace
// serves development: builds and tests inside this repository use the checkout.
replace github.com/zeropool-go/zeropool => ../../

require (
	github.com/stretchr/testify v1.12.1
	github.com/zeropool-go/zeropool v0.1.0
	google.golang.org/grpc v1.85.0
)

require (
	github.com/ebitengine/purego v0.11.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
