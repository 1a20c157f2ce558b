require ["include", "fileinto"];
include :personal "same";
include :global "same";
