"""Reader studies: validate reads, analyse readers with and without the model, simulate demo reads."""

from her2mri.readers.analysis import ReaderComparison, ReaderMetrics, ReaderStudyResult, run_reader_study
from her2mri.readers.simulate import simulate_reads
from her2mri.readers.table import ReaderTable, read_reads, validate_reads

__all__ = [
    "ReaderComparison",
    "ReaderMetrics",
    "ReaderStudyResult",
    "ReaderTable",
    "read_reads",
    "run_reader_study",
    "simulate_reads",
    "validate_reads",
]
