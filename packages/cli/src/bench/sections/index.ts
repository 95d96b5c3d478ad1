import type { BenchSection } from '../section';
import { completionSection } from './completion';
import { deliverySection } from './delivery';
import { msixSection } from './msix';
import { retargetSection } from './retarget';
import { routesSection } from './routes';

/** Every benchmark of the project, in the order they run. */
export function allSections(): BenchSection[] {
  return [deliverySection(), routesSection, retargetSection, completionSection(), msixSection];
}
