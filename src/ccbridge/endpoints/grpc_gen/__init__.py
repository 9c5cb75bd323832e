"""Generated from proto/ccbridge/v1/consumer.proto by scripts/gen_grpc.sh; do not edit."""
