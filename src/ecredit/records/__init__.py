"""Credit records (信用记录) with their publicity windows, and credit commitments (信用承诺): DESIGN.md §6."""
