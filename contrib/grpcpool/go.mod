module github.com/zeropool-go/zeropool/contrib/grpcpool

go 1.26.0

replace github.com/zeropool-go/zeropool => ../../

require (
	github.com/stretchr/testify v1.12.1
	github.com/zeropool-go/zeropool v0.0.0
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
