"""Everything JVM: jars from Maven Central, ImageJ backends, numpy<->ImagePlus, macro commands."""
