using BenchmarkDotNet.Running;

// ./build.sh --target=Microbench [--filter=*Codec*]   (docs/benchmarks.md)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
