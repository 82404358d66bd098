// The npm jose package for tests and benchmarks (installed here by scripts/install-deps).
export * from 'jose';
