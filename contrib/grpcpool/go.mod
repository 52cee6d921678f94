module github.com/zeropool-go/zeropool/contrib/grpcpool

go 1.26.0

// A program that requires this module gets github.com/zeropool-go/zeropool at the version
// required below (or a later one that the program asks for) from the module proxy: Go
// ignores the replace directives of every module but the one being built. The replace
// serves development: builds and tests inside this repository use the checkout.
replace github.com/zeropool-go/zeropool => ../../

// grpc v1.66.3 is the oldest release the package doc promises to work with (1.66.0 leaks the
// server's unary requests, which service_test.go catches); make test runs the suite against it
// and, through grpc-latest.mod, against the newest release tested.
require (
	github.com/stretchr/testify v1.12.1
	github.com/zeropool-go/zeropool v0.1.0
	google.golang.org/grpc v1.66.3
)

require (
	github.com/ebitengine/purego v0.11.3 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/net v0.26.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.16.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240604185151-ef581f913117 // indirect
	google.golang.org/protobuf v1.34.1 // indirect
)
