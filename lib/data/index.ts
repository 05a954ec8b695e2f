/** tg.data: datasets, the DataLoader, readers for MNIST (IDX) and CSV files, and normalization. */
export { Dataset, TensorDataset } from './dataset';
export { DataLoader } from './dataloader';
export type { DataLoaderOptions } from './dataloader';
export { defaultCollate } from './collate';
export type { Collated } from './collate';
export { readIdx } from './idx';
export { loadMnist } from './mnist';
export type { Mnist, MnistOptions, MnistSplit } from './mnist';
export { readCsv } from './csv';
export type { Csv, CsvOptions } from './csv';
export { loadDigits } from './digits';
export type { DigitsOptions } from './digits';
export { channelStats, normalize } from './normalize';
export type { ChannelStats } from './normalize';
