"""The shared drain engine, its probe, job finishing, processors and worker modes."""
